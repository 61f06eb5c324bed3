//! The orchestration example's worker: `work(job, attempt)`, with failures a coordinator can retry.

wit_bindgen::generate!({ world: "jobs", path: "wit" });

struct Jobs;

impl Guest for Jobs {
    fn work(job: u32, attempt: u32) -> Result<u32, String> {
        if job == 13 {
            return Err(format!("job {job} cannot be done"));
        }
        if job % 7 == 0 && attempt < 2 {
            return Err(format!("job {job}: transient failure on attempt {attempt}"));
        }
        Ok(job.wrapping_mul(job))
    }
}

export!(Jobs);
