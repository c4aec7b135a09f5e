DROP TABLE taggings;
DROP TABLE tags;
