-- Schema version 5: the labels that hold, kept as rows instead of a view that compared every
-- event with every other (10,000 events took 11 s to count, 200,000 never finished).
--
-- labels_held has one row per set/import event that is active (not undone) and not wholly
-- covered by a later active event of the same video, AU and annotator: what labels_current
-- returned. The store keeps it in the transaction that appends each event (app/store/
-- mimica-store.c, labels_held_*); after this file runs, the store fills it from the existing
-- events in one O(n log n) pass (_mimica_store_labels_rebuild), inside the same transaction.

DROP VIEW labels_current;

CREATE TABLE labels_held (
    event_id     INTEGER PRIMARY KEY REFERENCES label_events(id),
    video_id     INTEGER NOT NULL,
    au           INTEGER NOT NULL,
    annotator_id INTEGER NOT NULL,
    frame_start  INTEGER NOT NULL,
    frame_end    INTEGER NOT NULL,
    -- bits of frame_end - frame_start (0 for one frame): a row of span_bits b starts no earlier
    -- than 2^b - 1 frames before any frame it covers, so the rows meeting a window are found by
    -- one index range per b (at most 64 seeks), however long some labels are.
    span_bits    INTEGER NOT NULL CHECK (span_bits BETWEEN 0 AND 63)
);
CREATE INDEX labels_held_group ON labels_held(video_id, au, annotator_id, frame_start, frame_end);
CREATE INDEX labels_held_window ON labels_held(video_id, span_bits, frame_start);

-- The view keeps its name and columns (label_events') for existing queries: a join on the
-- primary key, with the indexed columns taken from labels_held so that a filter on video, AU or
-- annotator uses labels_held_group. Its order is not defined: ask for ORDER BY id.
CREATE VIEW labels_current AS
SELECT e.id, e.kind, h.video_id, h.annotator_id, e.time, h.au, h.frame_start, h.frame_end, e.value,
       e.model_id, e.target, e.supersedes
FROM labels_held h CROSS JOIN label_events e ON e.id = h.event_id;
