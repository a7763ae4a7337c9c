-- Why a bookmark's clip failed, or what a ready clip lacks (the camera dropped meanwhile).
ALTER TABLE bookmarks ADD COLUMN detail TEXT;
