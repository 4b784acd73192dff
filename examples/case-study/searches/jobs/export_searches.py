"""Exports yesterday's searches (spark-submit on EMR; plain python3 under `dpc local`)."""
import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--date", required=True)
parser.add_argument("--output", default="local")
args = parser.parse_args()
print(f"searches: exported searches of {args.date} to {args.output}")
