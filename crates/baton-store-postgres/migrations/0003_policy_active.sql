-- Which policy version is active, for every instance on this database; the
-- files a version loaded (contracts), so any instance can build it again.
ALTER TABLE policy_versions ADD COLUMN files TEXT NOT NULL DEFAULT '{}';

CREATE TABLE policy_active (
    id           SMALLINT PRIMARY KEY NOT NULL CHECK (id = 1),
    version      TEXT NOT NULL REFERENCES policy_versions (version),
    activated_us BIGINT NOT NULL,
    activated_by TEXT NOT NULL
);
