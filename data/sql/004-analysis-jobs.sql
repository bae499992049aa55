-- Schema version 4: head pose per prediction, per-person calibration, and the job queue.

-- pose: 6 little-endian float32, OpenFace 2.2's pose_Tx, pose_Ty, pose_Tz (mm, camera frame)
-- and pose_Rx, pose_Ry, pose_Rz (radians, R = Rx·Ry·Rz), or NULL where no face was found.
ALTER TABLE predictions ADD COLUMN pose BLOB CHECK (pose IS NULL OR length(pose) = 24);

-- The analysis of a video by a model: one row per (video, model), what the pipeline was asked
-- (parameters: JSON with backend, max_faces, smoothing, baseline segment) and how far it got.
-- state 'running': frames before next_frame are stored; 'done': all frames and calibration.
CREATE TABLE analyses (
    id         INTEGER PRIMARY KEY,
    video_id   INTEGER NOT NULL REFERENCES videos(id),
    model_id   INTEGER NOT NULL REFERENCES models(id),
    parameters TEXT NOT NULL DEFAULT '{}',
    state      TEXT NOT NULL CHECK (state IN ('running', 'done')),
    next_frame INTEGER NOT NULL DEFAULT 0 CHECK (next_frame >= 0),
    n_frames   INTEGER NOT NULL DEFAULT 0 CHECK (n_frames >= 0),  -- frames decoded and stored
    started    INTEGER NOT NULL,
    finished   INTEGER,
    UNIQUE (video_id, model_id)
);

-- A person's neutral baseline under a model: per-feature values (little-endian float32; the
-- model's own features: landmark geometry for 'geometry', AU probabilities for a network),
-- found automatically ('auto': low-activity frames) or from a segment the user picked ('segment').
CREATE TABLE calibrations (
    face_id     INTEGER NOT NULL REFERENCES faces(id),
    model_id    INTEGER NOT NULL REFERENCES models(id),
    method      TEXT NOT NULL CHECK (method IN ('auto', 'segment')),
    frame_start INTEGER,
    frame_end   INTEGER,
    n_frames    INTEGER NOT NULL DEFAULT 0,
    baseline    BLOB NOT NULL,
    PRIMARY KEY (face_id, model_id)
) WITHOUT ROWID;

-- The engine thread's queue (app/jobs): one row per job, run one at a time in id order. A job
-- found 'running' when a runner starts was interrupted (crash, quit) and resumes from `resume`.
CREATE TABLE jobs (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('analyse', 'fine-tune', 'evaluate', 'export')),
    parameters TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(parameters)),
    status     TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    done       INTEGER NOT NULL DEFAULT 0,   -- units done (frames, steps)
    total      INTEGER NOT NULL DEFAULT 0,   -- units in all (0: unknown)
    resume     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(resume)),
    message    TEXT NOT NULL DEFAULT '',     -- the error, or a one-line result
    created    INTEGER NOT NULL,
    started    INTEGER,
    finished   INTEGER
);
CREATE INDEX jobs_status ON jobs(status, id);
