//! Work over many revisions on the machine's cores, with results (and the
//! first error) in order, as if it had run one item after the other.
//!
//! Reading, checking and rendering a thousand small revisions is system
//! calls, lexing and formatting, item by item and independent: on two or
//! more cores it takes a fraction of the wall time. Small inputs stay on
//! the calling thread, where a thread's start would cost more than it saves.

/// Inputs from this many items up are split across threads.
const PARALLEL_FROM: usize = 64;

/// `work` on every item, on several threads for large inputs; the results
/// come back in the items' order, and the error is the first failing item's
/// (every item before it succeeded).
pub(crate) fn try_map_in_order<I, R, E>(
    items: &mut [I],
    work: impl Fn(&mut I) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E>
where
    I: Send,
    R: Send,
    E: Send,
{
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if threads < 2 || items.len() < PARALLEL_FROM {
        return items.iter_mut().map(work).collect();
    }
    let total = items.len();
    let chunk = total.div_ceil(threads);
    let work = &work;
    std::thread::scope(|scope| {
        let parts: Vec<_> = items
            .chunks_mut(chunk)
            .map(|part| {
                scope.spawn(move || part.iter_mut().map(work).collect::<Result<Vec<R>, E>>())
            })
            .collect();
        let mut done = Vec::with_capacity(total);
        // Joined in order, each part stopping at its first error: the first
        // error met is the first in the items' order.
        for part in parts {
            match part.join() {
                Ok(results) => done.extend(results?),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Ok(done)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_their_order_and_the_first_error_wins() {
        let mut items: Vec<usize> = (0..1000).collect();
        let doubled: Result<Vec<usize>, usize> = try_map_in_order(&mut items, |i| Ok(*i * 2));
        assert_eq!(doubled, Ok((0..1000).map(|i| i * 2).collect()));
        for _ in 0..20 {
            let failed: Result<Vec<usize>, usize> = try_map_in_order(&mut items, |i| {
                if *i == 300 || *i == 900 {
                    Err(*i)
                } else {
                    Ok(*i)
                }
            });
            assert_eq!(failed, Err(300));
        }
        let mut few = vec![1, 2, 3];
        let small: Result<Vec<i32>, ()> = try_map_in_order(&mut few, |i| {
            *i += 1;
            Ok(*i)
        });
        assert_eq!(small, Ok(vec![2, 3, 4]));
        assert_eq!(few, [2, 3, 4]);
    }
}
