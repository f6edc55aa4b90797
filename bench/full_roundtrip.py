"""Round trip of the full public EIBench files: import, export, compare bytes.

    .venv/bin/python bench/full_roundtrip.py --basic-ground-truth DIR/EI_Basic/basic_ground_truth.json \
        --complex DIR/EI_Complex/ec_complex.jsonl [--basic-questions DIR/EI_Basic/user.jsonl]

The full files are not shipped with EI Studio (get them from the EIBench repository). Without
--basic-questions, a user.jsonl is made from the ground-truth keys (the import needs a question per image).
Runs in a throwaway SQLite database under a temporary folder; prints what matched.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--basic-questions", type=Path)
    parser.add_argument("--basic-ground-truth", type=Path, required=True)
    parser.add_argument("--complex", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        questions = args.basic_questions
        if questions is None:
            truth = json.loads(args.basic_ground_truth.read_text())
            questions = tmp / "user.jsonl"
            with open(questions, "w") as fh:
                for key in sorted(truth):
                    fh.write(json.dumps({key: "What might have caused the person in the image to feel this way?"}) + "\n")
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}", "EISTUDIO_VAR_DIR": str(tmp / "var")}
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
        cmd = [*manage, "import_eibench", "--project", "full", "-v0", "--basic-questions", str(questions),
               "--basic-ground-truth", str(args.basic_ground_truth)]
        if args.complex:
            cmd += ["--complex", str(args.complex)]
        subprocess.run(cmd, env=env, check=True)
        out = tmp / "out"
        subprocess.run([*manage, "export_eibench", "--project", "full", "--out", str(out), "-v0"], env=env, check=True)
        pairs = [(questions, out / "EI_Basic/user.jsonl"), (args.basic_ground_truth, out / "EI_Basic/basic_ground_truth.json")]
        if args.complex:
            pairs.append((args.complex, out / "EI_Complex/ec_complex.jsonl"))
        ok = True
        for original, exported in pairs:
            same = original.read_bytes() == exported.read_bytes()
            ok &= same
            print(f"{'identical' if same else 'DIFFERENT'}  {original.name:<26} {original.stat().st_size:>9,} bytes  "
                  f"sha256 {sha(original)} / {sha(exported)}")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
