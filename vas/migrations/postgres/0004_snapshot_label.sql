-- A stored snapshot's optional label (what the operator wrote when taking it).
ALTER TABLE snapshots ADD COLUMN label TEXT;
