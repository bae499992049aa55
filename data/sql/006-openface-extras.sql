-- Schema version 6: the columns of an imported OpenFace CSV that Mimica does not model (gaze,
-- eye landmarks, 3-D landmarks, shape parameters p_*, any other numeric column), kept so that
-- the OpenFace export gives them back (app/store/mimica-store-io.c).
--
-- Storage: the names once per import (one row per column here: an OpenFace 2.2 file has 532 of
-- its 714 columns outside Mimica's fields) and the values once per imported face row, as one
-- blob in predictions, 4 bytes a value: 2128 bytes for OpenFace 2.2's 532, read and written with
-- the row, value j at byte 4j. A row per value would cost about 25 bytes of key and record per
-- value (13 KB a row), the text about 5 KB. Measured, 9000 rows of a full OpenFace 2.2 CSV (46
-- MB): the project grows 4.7 KB a row (0.8 KB without extras: the blob takes an overflow page);
-- float64 would be 5.1 KB. float32 gives OpenFace's printed values back at their precision (at
-- most 6 decimals, gaze within +-1; 1 decimal for millimetres and pixels); a row with a value
-- that float32 would not give back at its printed decimals is stored as float64 instead, so the
-- blob's length says which (4 or 8 bytes a value).

-- One row per OpenFace import, the model it made: the AU columns the file had (AU numbers as in
-- models.aus, '' for none), given back by the export even where every value is nan.
CREATE TABLE openface_imports (
    model_id INTEGER PRIMARY KEY REFERENCES models(id),
    aus_r    TEXT NOT NULL,
    aus_c    TEXT NOT NULL
);

-- One row per extra column of the import that made model_id.
--   idx      the value's index in predictions.extras, the column's order in the file
--   after    the block of Mimica's columns it follows in the file, so that the export puts it
--            back in OpenFace's order: 0 none (before frame), 1 frame .. success, 2 pose,
--            3 x_0 .. y_67, 4 AUnn_r, 5 AUnn_c
--   decimals the most digits after the point that the file gave the column (written back so)
CREATE TABLE openface_columns (
    model_id INTEGER NOT NULL REFERENCES openface_imports(model_id),
    idx      INTEGER NOT NULL CHECK (idx >= 0),
    name     TEXT NOT NULL,
    after    INTEGER NOT NULL CHECK (after BETWEEN 0 AND 5),
    decimals INTEGER NOT NULL CHECK (decimals BETWEEN 0 AND 17),
    PRIMARY KEY (model_id, idx)
) WITHOUT ROWID;

-- extras: the values of the model's openface_columns in idx order, little-endian float32 or
-- float64 (see above), or NULL (predictions of Mimica's own analyses have none). An imported
-- row keeps its pose whether or not the face was found, as the file gave it.
ALTER TABLE predictions ADD COLUMN extras BLOB;
