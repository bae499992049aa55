-- Schema version 2: faces (tracks) and per-frame predictions.

CREATE TABLE faces (
    id          INTEGER PRIMARY KEY,
    video_id    INTEGER NOT NULL REFERENCES videos(id),
    track       INTEGER NOT NULL CHECK (track >= 0),   -- OpenFace's face_id
    first_frame INTEGER,
    last_frame  INTEGER,
    name        TEXT NOT NULL DEFAULT '',
    UNIQUE (video_id, track)
);

-- One row per face, model and frame. Blobs are little-endian float32:
--   landmarks    136 values, x_0..x_67 then y_0..y_67 (pixels), or NULL
--   au_prob      one value per AU of models.aus (probability, or NaN where unknown)
--   au_intensity one value per AU of models.aus (0..5, or NaN where unknown), or NULL
CREATE TABLE predictions (
    face_id      INTEGER NOT NULL REFERENCES faces(id),
    model_id     INTEGER NOT NULL REFERENCES models(id),
    frame        INTEGER NOT NULL CHECK (frame >= 0),
    timestamp    REAL NOT NULL,                 -- seconds
    confidence   REAL NOT NULL DEFAULT 0,
    success      INTEGER NOT NULL DEFAULT 0 CHECK (success IN (0, 1)),
    box_x        REAL, box_y REAL, box_w REAL, box_h REAL,
    landmarks    BLOB CHECK (landmarks IS NULL OR length(landmarks) = 544),
    au_prob      BLOB,
    au_intensity BLOB,
    PRIMARY KEY (face_id, model_id, frame)
) WITHOUT ROWID;
