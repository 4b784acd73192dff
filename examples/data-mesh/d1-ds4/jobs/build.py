"""Builds data product D1/DS4 (a Glue job on AWS; plain python3 under `dpc local`)."""
import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--date", required=True)
parser.add_argument("--product", required=True)
args = parser.parse_args()
print(f"d1-ds4: refreshed {args.product} for {args.date}")
