"""The case study's dependency as a Prefect 3 flow, as a user would write it to run locally.

listings and searches run side by side; pipeline-x runs once both succeeded. Each task runs
the same script as the pipeline's `local.command` (examples/case-study/*/jobs/*.py) in a
subprocess, from the pipeline's folder. Run it as `python flow.py [--date 2026-11-26]`: with no
PREFECT_API_URL, Prefect starts its ephemeral server for the run (default settings).
The local benchmark (benches/local.rs) times this whole process against `dpc local run`.
"""

import argparse
import subprocess
from pathlib import Path

from prefect import flow, task

CASE_STUDY = Path(__file__).resolve().parents[2] / "examples" / "case-study"


@task
def run_job(pipeline: str, script: str, date: str) -> str:
    """Runs one pipeline's job script; a non-zero exit fails the task (and the flow)."""
    done = subprocess.run(
        ["python3", script, "--date", date],
        cwd=CASE_STUDY / pipeline,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


@flow(log_prints=True)
def case_study(date: str) -> None:
    listings = run_job.submit("listings", "jobs/aggregate_listings.py", date)
    searches = run_job.submit("searches", "jobs/export_searches.py", date)
    measure = run_job.submit(
        "pipeline-x", "jobs/measure_x.py", date, wait_for=[listings, searches]
    )
    for future in (listings, searches, measure):
        print(future.result().strip())


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--date", default="2026-11-26")
    case_study(parser.parse_args().date)
