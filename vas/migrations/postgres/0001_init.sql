-- VAS schema, PostgreSQL flavour.

CREATE TABLE devices (
    id            uuid        PRIMARY KEY,
    name          text        NOT NULL,
    rtsp_url      text        NOT NULL,
    sub_rtsp_url  text,
    username      text,
    password      text,
    enabled       boolean     NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    CONSTRAINT devices_name_key UNIQUE (name),
    CONSTRAINT devices_rtsp_url_key UNIQUE (rtsp_url)
);

CREATE TABLE streams (
    id            uuid        PRIMARY KEY,
    device_id     uuid        NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    profile       text        NOT NULL CHECK (profile IN ('main', 'sub')),
    desired_state text        NOT NULL CHECK (desired_state IN ('running', 'stopped')),
    record        boolean     NOT NULL,
    created_at    timestamptz NOT NULL,
    CONSTRAINT streams_device_profile_key UNIQUE (device_id, profile)
);

CREATE TABLE recordings (
    id            uuid        PRIMARY KEY,
    stream_id     uuid        NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    start_at      timestamptz NOT NULL,
    end_at        timestamptz,
    location      text        NOT NULL,
    bytes         bigint      NOT NULL CHECK (bytes >= 0),
    CHECK (end_at IS NULL OR end_at >= start_at)
);
CREATE INDEX recordings_stream_start ON recordings (stream_id, start_at);
CREATE INDEX recordings_open ON recordings (end_at) WHERE end_at IS NULL;

CREATE TABLE bookmarks (
    id            uuid        PRIMARY KEY,
    stream_id     uuid        NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    at            timestamptz NOT NULL,
    before_ms     bigint      NOT NULL CHECK (before_ms >= 0),
    after_ms      bigint      NOT NULL CHECK (after_ms >= 0),
    label         text,
    clip_location text,
    state         text        NOT NULL CHECK (state IN ('pending', 'ready', 'failed')),
    created_at    timestamptz NOT NULL
);
CREATE INDEX bookmarks_stream_at ON bookmarks (stream_id, at);

CREATE TABLE snapshots (
    id            uuid        PRIMARY KEY,
    stream_id     uuid        NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    taken_at      timestamptz NOT NULL,
    location      text        NOT NULL,
    bytes         bigint      NOT NULL CHECK (bytes >= 0),
    width         integer     NOT NULL CHECK (width > 0),
    height        integer     NOT NULL CHECK (height > 0)
);
CREATE INDEX snapshots_stream_taken ON snapshots (stream_id, taken_at);
