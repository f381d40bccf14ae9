-- Outputs name their files by storage reference now ({"$file": {...}}, see src/outputs/form.ts),
-- not by URL, and keys of producers' data that start with "$" are escaped ("$$..."). Jobs whose
-- output was written before this and may hold a URL of the form <origin>/files/<job id>/<name>,
-- or a key starting with "$", are listed here; the maintenance chore rewrite-old-outputs
-- (src/jobs/output-rewrites.ts) rewrites each once it is finished and strikes it off, in small batches.
CREATE TABLE job_output_rewrites (
  job_id TEXT PRIMARY KEY
);
INSERT INTO job_output_rewrites (job_id) SELECT id FROM jobs WHERE output_data LIKE '%/files/%' OR output_data LIKE '%"$%';
