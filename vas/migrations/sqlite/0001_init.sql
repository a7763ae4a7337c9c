-- VAS schema, SQLite flavour. Times are INTEGER microseconds since the Unix epoch (UTC);
-- ids are hyphenated UUID text; booleans are 0/1.

CREATE TABLE devices (
    id            TEXT    PRIMARY KEY NOT NULL,
    name          TEXT    NOT NULL,
    rtsp_url      TEXT    NOT NULL,
    sub_rtsp_url  TEXT,
    username      TEXT,
    password      TEXT,
    enabled       INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CONSTRAINT devices_name_key UNIQUE (name),
    CONSTRAINT devices_rtsp_url_key UNIQUE (rtsp_url)
) STRICT;

CREATE TABLE streams (
    id            TEXT    PRIMARY KEY NOT NULL,
    device_id     TEXT    NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    profile       TEXT    NOT NULL CHECK (profile IN ('main', 'sub')),
    desired_state TEXT    NOT NULL CHECK (desired_state IN ('running', 'stopped')),
    record        INTEGER NOT NULL CHECK (record IN (0, 1)),
    created_at    INTEGER NOT NULL,
    CONSTRAINT streams_device_profile_key UNIQUE (device_id, profile)
) STRICT;

CREATE TABLE recordings (
    id            TEXT    PRIMARY KEY NOT NULL,
    stream_id     TEXT    NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    start_at      INTEGER NOT NULL,
    end_at        INTEGER,
    location      TEXT    NOT NULL,
    bytes         INTEGER NOT NULL CHECK (bytes >= 0),
    CHECK (end_at IS NULL OR end_at >= start_at)
) STRICT;
CREATE INDEX recordings_stream_start ON recordings (stream_id, start_at);
CREATE INDEX recordings_open ON recordings (end_at) WHERE end_at IS NULL;

CREATE TABLE bookmarks (
    id            TEXT    PRIMARY KEY NOT NULL,
    stream_id     TEXT    NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    at            INTEGER NOT NULL,
    before_ms     INTEGER NOT NULL CHECK (before_ms >= 0),
    after_ms      INTEGER NOT NULL CHECK (after_ms >= 0),
    label         TEXT,
    clip_location TEXT,
    state         TEXT    NOT NULL CHECK (state IN ('pending', 'ready', 'failed')),
    created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX bookmarks_stream_at ON bookmarks (stream_id, at);

CREATE TABLE snapshots (
    id            TEXT    PRIMARY KEY NOT NULL,
    stream_id     TEXT    NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    taken_at      INTEGER NOT NULL,
    location      TEXT    NOT NULL,
    bytes         INTEGER NOT NULL CHECK (bytes >= 0),
    width         INTEGER NOT NULL CHECK (width > 0),
    height        INTEGER NOT NULL CHECK (height > 0)
) STRICT;
CREATE INDEX snapshots_stream_taken ON snapshots (stream_id, taken_at);
