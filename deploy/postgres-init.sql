-- Run once by the postgres image when its data volume is new (deploy/docker-compose.yaml): the audit's
-- database beside Dagster's. `jde-mc audit upgrade` creates its tables (JDE_MC_AUDIT_URL names it).
CREATE DATABASE jde_mc_audit;
