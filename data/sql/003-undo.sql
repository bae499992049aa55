-- Schema version 3: undo and redo over label events, and the model a label was made from.
-- label_events is rebuilt (SQLite cannot relax NOT NULL on value in place); the store runs
-- migrations with foreign_keys off and checks PRAGMA foreign_key_check before committing.
--
-- kind       'set' (an edit), 'import' (from a labels CSV), 'undo', 'redo'
-- target     for undo/redo: the set/import event whose effect is switched off/on again
-- supersedes undo/redo: the previous top of target's chain (target, or the last undo/redo of it);
--            set: the active label of the same annotator, video and AU that it overrides
-- A set/import event is active when an even number of undo/redo events target it.

DROP VIEW labels_current;

CREATE TABLE label_events_new (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('set', 'import', 'undo', 'redo')),
    video_id     INTEGER NOT NULL REFERENCES videos(id),
    annotator_id INTEGER NOT NULL REFERENCES annotators(id),
    time         INTEGER NOT NULL,
    au           INTEGER NOT NULL CHECK (au BETWEEN 1 AND 99),
    frame_start  INTEGER NOT NULL CHECK (frame_start >= 0),
    frame_end    INTEGER NOT NULL CHECK (frame_end >= frame_start),
    value        TEXT CHECK (value IN ('absent', 'present', 'A', 'B', 'C', 'D', 'E')),
    model_id     INTEGER REFERENCES models(id),
    target       INTEGER REFERENCES label_events(id),
    supersedes   INTEGER REFERENCES label_events(id),
    CHECK ((kind IN ('set', 'import')) = (value IS NOT NULL)),
    CHECK ((kind IN ('undo', 'redo')) = (target IS NOT NULL AND supersedes IS NOT NULL))
);

INSERT INTO label_events_new (id, kind, video_id, annotator_id, time, au, frame_start, frame_end,
                              value)
SELECT id, 'set', video_id, annotator_id, time, au, frame_start, frame_end, value
FROM label_events ORDER BY id;

DROP TABLE label_events;
ALTER TABLE label_events_new RENAME TO label_events;

-- (frame_start, frame_end) serve labels_current's "covered by a later event" test
CREATE INDEX label_events_video ON label_events(video_id, au, annotator_id, frame_start,
                                               frame_end);
CREATE INDEX label_events_annotator ON label_events(annotator_id, kind);
CREATE INDEX label_events_target ON label_events(target) WHERE target IS NOT NULL;
-- A chain of undo/redo over one event is linear: nothing is undone or redone twice.
CREATE UNIQUE INDEX label_events_chain ON label_events(supersedes) WHERE kind IN ('undo', 'redo');

CREATE TRIGGER label_events_no_update BEFORE UPDATE ON label_events
BEGIN
    SELECT RAISE(ABORT, 'label events are append-only');
END;
CREATE TRIGGER label_events_no_delete BEFORE DELETE ON label_events
BEGIN
    SELECT RAISE(ABORT, 'label events are append-only');
END;
-- An undo must switch off an active event, a redo must follow an undo, both on the chain's top.
CREATE TRIGGER label_events_chain_check BEFORE INSERT ON label_events
WHEN NEW.kind IN ('undo', 'redo')
BEGIN
    SELECT RAISE(ABORT, 'undo/redo target is not a set or import event')
    WHERE (SELECT kind FROM label_events WHERE id = NEW.target) NOT IN ('set', 'import')
       OR NOT EXISTS (SELECT 1 FROM label_events WHERE id = NEW.target);
    SELECT RAISE(ABORT, 'undo/redo does not follow the top of its chain')
    WHERE NEW.supersedes IS NOT
          coalesce((SELECT max(id) FROM label_events WHERE target = NEW.target), NEW.target);
    SELECT RAISE(ABORT, 'undo of an inactive event or redo of an active one')
    WHERE ((SELECT count(*) FROM label_events WHERE target = NEW.target) % 2 = 0)
          != (NEW.kind = 'undo');
END;

-- Set and import events whose effect holds (not undone).
CREATE VIEW label_events_active AS
SELECT e.* FROM label_events e
WHERE e.kind IN ('set', 'import')
  AND (SELECT count(*) FROM label_events c WHERE c.target = e.id) % 2 = 0;

-- The labels that hold: active events not wholly covered by a later active event of the same
-- annotator, video and AU. Where ranges still overlap, the later event wins.
CREATE VIEW labels_current AS
SELECT a.* FROM label_events_active a
WHERE NOT EXISTS (
    SELECT 1 FROM label_events_active b
    WHERE b.video_id = a.video_id AND b.au = a.au AND b.annotator_id = a.annotator_id
      AND b.id > a.id AND b.frame_start <= a.frame_start AND b.frame_end >= a.frame_end);
