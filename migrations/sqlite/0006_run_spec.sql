-- What a job runs, fixed when the run was accepted and charged (src/runs/spec.ts): a model run's
-- resolved input, or an app run's definition and inputs. NULL for jobs accepted before this
-- migration: those are resolved again when they run.
ALTER TABLE jobs ADD COLUMN run_spec TEXT;
