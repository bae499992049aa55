-- Mimica project schema, version 1: videos, annotators, label events, models, training runs.
-- Applied by app/store/mimica-store.c inside one transaction; the store sets user_version.
-- Times are milliseconds since the Unix epoch (UTC); durations are microseconds.

CREATE TABLE annotators (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    created INTEGER NOT NULL
);

CREATE TABLE videos (
    id             INTEGER PRIMARY KEY,
    path           TEXT NOT NULL,
    content_hash   TEXT NOT NULL UNIQUE,
    duration_us    INTEGER NOT NULL CHECK (duration_us >= 0),
    frame_rate_num INTEGER NOT NULL CHECK (frame_rate_num > 0),
    frame_rate_den INTEGER NOT NULL CHECK (frame_rate_den > 0),
    n_frames       INTEGER NOT NULL CHECK (n_frames >= 0),
    width          INTEGER NOT NULL CHECK (width > 0),
    height         INTEGER NOT NULL CHECK (height > 0),
    rotation       INTEGER NOT NULL CHECK (rotation IN (0, 90, 180, 270)),
    added          INTEGER NOT NULL
);

CREATE TABLE models (
    id        INTEGER PRIMARY KEY,
    file      TEXT NOT NULL,
    name      TEXT NOT NULL DEFAULT '',
    parent_id INTEGER REFERENCES models(id),
    aus       TEXT NOT NULL,                -- AU numbers in output order, e.g. '1,2,4,6'
    metrics   TEXT NOT NULL DEFAULT '{}',   -- JSON
    created   INTEGER NOT NULL
);

CREATE TABLE training_runs (
    id         INTEGER PRIMARY KEY,
    model_in   INTEGER REFERENCES models(id),
    model_out  INTEGER REFERENCES models(id),
    parameters TEXT NOT NULL DEFAULT '{}',  -- JSON
    status     TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    log        TEXT NOT NULL DEFAULT '',
    started    INTEGER,
    finished   INTEGER
);

-- Append-only: a correction is a new event, never an UPDATE or a DELETE.
CREATE TABLE label_events (
    id           INTEGER PRIMARY KEY,
    video_id     INTEGER NOT NULL REFERENCES videos(id),
    annotator_id INTEGER NOT NULL REFERENCES annotators(id),
    time         INTEGER NOT NULL,
    au           INTEGER NOT NULL CHECK (au BETWEEN 1 AND 99),
    frame_start  INTEGER NOT NULL CHECK (frame_start >= 0),
    frame_end    INTEGER NOT NULL CHECK (frame_end >= frame_start),
    value        TEXT NOT NULL CHECK (value IN ('absent', 'present', 'A', 'B', 'C', 'D', 'E'))
);
CREATE INDEX label_events_video ON label_events(video_id, au, annotator_id);

CREATE TRIGGER label_events_no_update BEFORE UPDATE ON label_events
BEGIN
    SELECT RAISE(ABORT, 'label events are append-only');
END;
CREATE TRIGGER label_events_no_delete BEFORE DELETE ON label_events
BEGIN
    SELECT RAISE(ABORT, 'label events are append-only');
END;

-- The label that holds: the latest event wins where ranges overlap.
CREATE VIEW labels_current AS
SELECT a.* FROM label_events a
WHERE NOT EXISTS (
    SELECT 1 FROM label_events b
    WHERE b.video_id = a.video_id AND b.au = a.au AND b.annotator_id = a.annotator_id
      AND b.id > a.id AND b.frame_start <= a.frame_start AND b.frame_end >= a.frame_end);
