//! Passwords hidden in what messages show of connection settings.

use super::keywords::{is_space_char, next_pair, Pair};
use super::settings::{is_plain_keyword, is_secret};
use super::uri::{percent_decode, split_postgres_scheme};

/// `input` with every password hidden, for messages: `user:***@` in a URL,
/// `password=***` in a connection string (and likewise `sslpassword` and the
/// other secret keywords). Works on what it cannot parse too, and then shows
/// only what provably holds no password: after an ambiguous `@`, an
/// unterminated quote or a word without `=`, the rest becomes `***`.
///
/// # Examples
///
/// ```
/// use dmig::online::pg::conninfo::redact;
/// assert_eq!(redact("postgres://app:s3cret@db/app"), "postgres://app:***@db/app");
/// assert_eq!(redact("host=db password='s3 cret'"), "host=db password=***");
/// ```
pub fn redact(input: &str) -> String {
    if let Some((scheme, rest)) = split_postgres_scheme(input) {
        return redact_uri(scheme, rest);
    }
    let trimmed = input.trim_start_matches(is_space_char);
    let first = trimmed.split(is_space_char).next().unwrap_or_default();
    match first.find("://") {
        // Another scheme: hide its user info the same way.
        Some(at) if !first[..at].contains('=') => {
            let scheme_end = input.len() - trimmed.len() + at + 3;
            redact_uri(&input[..scheme_end], &input[scheme_end..])
        }
        _ => redact_keywords(input),
    }
}

fn redact_uri(scheme: &str, rest: &str) -> String {
    // The user info ends at some `@`. libpq takes the first, a person who
    // forgot to encode one the last: hide up to the last `@` before the
    // query, failing that the last one anywhere (a password with a `?`).
    let query_start = rest.find('?').unwrap_or(rest.len());
    let at = rest[..query_start].rfind('@').or_else(|| rest.rfind('@'));
    let mut out = String::from(scheme);
    let after = match at {
        Some(at) => {
            let userinfo = &rest[..at];
            match userinfo.split_once(':') {
                Some((user, _password)) => {
                    out.push_str(user);
                    out.push_str(":***@");
                }
                None => {
                    out.push_str(userinfo);
                    out.push('@');
                }
            }
            &rest[at + 1..]
        }
        None => rest,
    };
    match after.split_once('?') {
        Some((head, query)) => {
            out.push_str(head);
            out.push('?');
            out.push_str(&redact_query(query));
        }
        None => out.push_str(after),
    }
    out
}

fn redact_query(query: &str) -> String {
    let mut parts = Vec::new();
    let params: Vec<&str> = query.split('&').collect();
    for (i, param) in params.iter().enumerate() {
        let key = param
            .split_once('=')
            .and_then(|(key, _)| percent_decode(key).map(|decoded| (key, decoded)));
        match key {
            Some((_, decoded)) if is_plain_keyword(&decoded) || decoded == "ssl" => {
                parts.push((*param).to_owned());
            }
            Some((raw, decoded)) if is_secret(&decoded) => {
                parts.push(format!("{raw}=***"));
                // What follows may be the rest of the password (an unencoded
                // `&` in it): show none of it.
                if params[i + 1..].iter().any(|rest| !rest.is_empty()) {
                    parts.push("***".to_owned());
                }
                break;
            }
            // An unknown key may be a misspelt `password`: hide its value.
            Some((raw, _)) => parts.push(format!("{raw}=***")),
            None if param.is_empty() => parts.push(String::new()),
            None => parts.push("***".to_owned()),
        }
    }
    parts.join("&")
}

fn redact_keywords(input: &str) -> String {
    let mut parts = Vec::new();
    let mut pos = 0;
    while let Some(pair) = next_pair(input, &mut pos) {
        match pair {
            Ok(Pair {
                name, start, end, ..
            }) => {
                if is_plain_keyword(&name) {
                    parts.push(input[start..end].trim_end_matches(is_space_char).to_owned());
                } else if is_secret(&name) {
                    parts.push(format!("{name}=***"));
                    // A later word may be the rest of an unquoted password
                    // with a space: show none of it.
                    if !input[end..].trim_matches(is_space_char).is_empty() {
                        parts.push("***".to_owned());
                    }
                    break;
                } else {
                    // An unknown keyword may be a misspelt `password`.
                    parts.push(format!("{name}=***"));
                }
            }
            Err(_) => {
                parts.push("***".to_owned());
                break;
            }
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_url_passwords() {
        for (url, shown) in [
            (
                "postgres://app:s3cret@db:5433/app",
                "postgres://app:***@db:5433/app",
            ),
            ("postgresql://app@db/app", "postgresql://app@db/app"),
            (
                "postgres://db/app?application_name=a@b",
                "postgres://db/app?application_name=a@b",
            ),
            ("postgres://u:P@ss:w/rd@host/db", "postgres://u:***@host/db"),
            ("postgres://u:p?s@s@db/app?x=y@z", "postgres://u:***@z"),
            (
                "postgres://db/app?user=u&password=s3cret&sslmode=require",
                "postgres://db/app?user=u&password=***&***",
            ),
            (
                "postgres://db/app?pass%77ord=s3cret",
                "postgres://db/app?pass%77ord=***",
            ),
            (
                "postgres://db/app?passwrd=s3cret",
                "postgres://db/app?passwrd=***",
            ),
            (
                "postgres://db/app?password=a&b",
                "postgres://db/app?password=***&***",
            ),
            (
                "postgres://db/app?password=a&b=c&port=1",
                "postgres://db/app?password=***&***",
            ),
            (
                "postgres://db/app?password=a&",
                "postgres://db/app?password=***",
            ),
            ("mysql://u:s3cret@db/app", "mysql://u:***@db/app"),
            ("postgres://", "postgres://"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
    }

    #[test]
    fn redact_hides_keyword_passwords() {
        for (input, shown) in [
            (
                r"host=db port=5433 dbname='my db' password='it\'s'",
                "host=db port=5433 dbname='my db' password=***",
            ),
            (
                "host = db password = s3cret user=u",
                "host = db password=*** ***",
            ),
            ("host=db password='s3 cret", "host=db ***"),
            ("host=db password=s3 cret", "host=db password=*** ***"),
            ("host=db password=s3 cret=x", "host=db password=*** ***"),
            ("host=db pasword=s3cret", "host=db pasword=***"),
            ("host=db s3cret", "host=db ***"),
            ("sslpassword=k3y host=db", "sslpassword=*** ***"),
            ("host=db password=s3cret ", "host=db password=***"),
            ("", ""),
        ] {
            assert_eq!(redact(input), shown, "{input}");
        }
    }
}
