-- How RTP travels from each camera: interleaved over the RTSP TCP connection, or UDP.
ALTER TABLE devices ADD COLUMN rtsp_transport text NOT NULL DEFAULT 'tcp'
    CHECK (rtsp_transport IN ('tcp', 'udp'));
