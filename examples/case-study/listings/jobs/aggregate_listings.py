"""Aggregates yesterday's listings events (spark-submit on EMR; plain python3 under `dpc local`)."""
import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--date", required=True)
args = parser.parse_args()
print(f"listings: aggregated listings events of {args.date}")
