"""Provenance records and the audit, on a small three-stage workflow that uses ded.runtime like every DED script."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ded import audit as audit_mod
from ded import provenance

SNAKEFILE = textwrap.dedent('''
    config["results_dir"] = "results"

    rule all:
        input: "figures/fig.txt"

    rule seeds:
        output: "results/seeds/math.jsonl"
        params: source={"source": "synthetic_math", "seed": 3, "hub_id": None, "revision": None}
        log: "results/logs/seeds.log"
        script: "scripts/seeds.py"

    rule corpus:
        input: "results/seeds/math.jsonl"
        output: "results/corpus/math.jsonl"
        params: model={"model": "org/teacher", "revision": "abc123"}
        log: "results/logs/corpus.log"
        script: "scripts/corpus.py"

    rule figure:
        input: corpus="results/corpus/math.jsonl", ref="reference.csv"
        output: "figures/fig.txt"
        log: "results/logs/figure.log"
        script: "scripts/figure.py"
''')

SCRIPTS = {
    "seeds.py": "from ded.runtime import snakemake_job\nwith snakemake_job(snakemake):\n"
                "    open(snakemake.output[0], 'w').write('{\"id\": 1}\\n{\"id\": 2}\\n')\n",
    "corpus.py": "from ded.runtime import snakemake_job\nwith snakemake_job(snakemake):\n"
                 "    rows = open(snakemake.input[0]).read().splitlines()\n"
                 "    open(snakemake.output[0], 'w').write(''.join(r.replace('}', ', \"ok\": true}') + '\\n' for r in rows))\n",
    "figure.py": "from ded.runtime import snakemake_job\nwith snakemake_job(snakemake):\n"
                 "    n = len(open(snakemake.input.corpus).read().splitlines())\n"
                 "    open(snakemake.output[0], 'w').write(f'{n} rows\\n')\n",
}


def run(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture()
def toy_workflow(tmp_path):
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    (tmp_path / "scripts").mkdir()
    for name, text in SCRIPTS.items():
        (tmp_path / "scripts" / name).write_text(text)
    (tmp_path / "reference.csv").write_text("a,b\n1,2\n")
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "toy"]):
        assert run(cmd, tmp_path).returncode == 0
    snakemake = str(Path(sys.executable).parent / "snakemake")
    res = run([snakemake, "--cores", "1", "--quiet"], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    return tmp_path, snakemake


def audit_json(cwd, *paths):
    res = run([sys.executable, "-m", "ded.cli", "audit", "--json", *paths], cwd)
    return res.returncode, json.loads(res.stdout)


def test_every_job_writes_a_sealed_record(toy_workflow):
    cwd, _ = toy_workflow
    rec = json.loads((cwd / "results/provenance/files/results/corpus/math.jsonl.json").read_text())
    assert rec["rule"] == "corpus"
    assert provenance.is_sealed(rec)
    assert rec["inputs"][0]["path"] == "results/seeds/math.jsonl"
    assert rec["outputs"][0]["sha256"] == provenance.sha256_file(cwd / "results/corpus/math.jsonl")
    assert rec["models"] == [{"model": "org/teacher", "revision": "abc123"}]
    assert rec["git"]["commit"] and rec["git"]["dirty"] is False
    assert rec["packages"]["snakemake"]
    assert rec["command"].startswith("script scripts/corpus.py")
    seeds = json.loads((cwd / "results/provenance/files/results/seeds/math.jsonl.json").read_text())
    assert seeds["seeds"] == {"seed": 3} and seeds["datasets"][0]["source"] == "synthetic_math"


def test_audit_passes_then_names_an_edited_intermediate_then_passes_after_rerun(toy_workflow):
    cwd, snakemake = toy_workflow
    code, out = audit_json(cwd, "figures/fig.txt")
    assert code == 0 and out["ok"], out["findings"]
    assert set(out["lineage"]) == {"figures/fig.txt", "results/corpus/math.jsonl", "results/seeds/math.jsonl",
                                   "reference.csv"}
    assert out["summary"]["seed_files"] == ["results/seeds/math.jsonl"]

    corpus = cwd / "results/corpus/math.jsonl"
    lines = corpus.read_text().splitlines()
    lines[0] = lines[0].replace("true", "false")
    corpus.write_text("\n".join(lines) + "\n")
    code, out = audit_json(cwd, "figures/fig.txt")
    assert code == 1
    problems = [f for f in out["findings"] if f["level"] == "error"]
    assert any(f["path"] == "results/corpus/math.jsonl" and "changed after it was recorded" in f["problem"]
               for f in problems), problems
    text = run([sys.executable, "-m", "ded.cli", "audit", "figures/fig.txt"], cwd).stdout
    assert "--forcerun results/corpus/math.jsonl" in text

    res = run([snakemake, "--cores", "1", "--quiet", "--forcerun", "results/corpus/math.jsonl"], cwd)
    assert res.returncode == 0, res.stderr[-3000:]
    code, out = audit_json(cwd, "figures/fig.txt")
    assert code == 0, out["findings"]


def test_audit_reports_missing_truncated_and_hand_edited_records_and_deleted_inputs(toy_workflow):
    cwd, _ = toy_workflow
    records = cwd / "results/provenance/files/results"
    seeds_rec = records / "seeds/math.jsonl.json"
    corpus_rec = records / "corpus/math.jsonl.json"

    edited = json.loads(corpus_rec.read_text())
    edited["models"][0]["revision"] = "forged"
    corpus_rec.write_text(json.dumps(edited))
    code, out = audit_json(cwd, "figures/fig.txt")
    assert code == 1 and any("edited after it was written" in f["problem"] for f in out["findings"])

    corpus_rec.write_text(corpus_rec.read_text()[:100])
    code, out = audit_json(cwd, "figures/fig.txt")
    assert any("unreadable, truncated" in f["problem"] for f in out["findings"])

    seeds_rec.unlink()
    (cwd / "results/seeds/math.jsonl").unlink()
    nodes, findings = audit_mod.audit(["results/corpus/math.jsonl"], str(cwd / "results"))
    code, out = audit_json(cwd, "results/seeds/math.jsonl")
    messages = " | ".join(f["problem"] for f in out["findings"])
    assert code == 1 and "no provenance record" in messages and "does not exist" in messages


def test_record_cli_for_shell_rules(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("results/models/x").mkdir(parents=True)
    Path("results/models/x/config.json").write_text("{}")
    Path("in.json").write_text("[]")
    assert provenance.main(["record", "--rule", "train", "--wildcards", '{"model": "x"}', "--command",
                            "llamafactory-cli train t.yaml", "--started", "0", "--input", "in.json",
                            "--output", "results/models/x"]) == 0
    rec = json.loads(Path("results/provenance/files/results/models/x.json").read_text())
    assert rec["outputs"][0]["kind"] == "dir" and rec["rule"] == "train" and provenance.is_sealed(rec)


def test_directory_outputs_audit_clean_despite_snakemakes_timestamp(tmp_path):
    """Snakemake stamps directory outputs (.snakemake_timestamp) after the job wrote its record."""
    (tmp_path / "Snakefile").write_text(textwrap.dedent('''
        rule all:
            input: "results/use.txt"
        rule model:
            output: directory("results/models/m")
            log: "results/logs/model.log"
            script: "model.py"
        rule use:
            input: "results/models/m"
            output: "results/use.txt"
            log: "results/logs/use.log"
            script: "use.py"
    '''))
    (tmp_path / "model.py").write_text("import os\nfrom ded.runtime import snakemake_job\nwith snakemake_job(snakemake):\n"
                                       "    os.makedirs(snakemake.output[0])\n"
                                       "    open(snakemake.output[0] + '/w.bin', 'w').write('weights')\n")
    (tmp_path / "use.py").write_text("from ded.runtime import snakemake_job\nwith snakemake_job(snakemake):\n"
                                     "    open(snakemake.output[0], 'w').write('ok')\n")
    snakemake = str(Path(sys.executable).parent / "snakemake")
    res = run([snakemake, "--cores", "1", "--quiet"], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert (tmp_path / "results/models/m/.snakemake_timestamp").exists()
    code, out = audit_json(tmp_path, "results/use.txt")
    assert code == 0, out["findings"]


def test_models_record_revisions_and_the_served_name_behind_an_endpoint():
    r1 = {"model": "deepseek-ai/DeepSeek-R1", "revision": "56d4cbb", "backend": "openai",
          "endpoint": {"base_url": "http://x/v1", "model_name": "deepseek-ai/DeepSeek-R1"}}
    qwq = {"model": "Qwen/QwQ-32B", "revision": "976055f", "backend": "vllm"}
    config = {"teachers": {"deepseek_r1": r1, "qwq": qwq}, "students": {}}
    models, _, seeds = provenance.models_and_datasets({"spec": qwq, "seed": 3}, config, {"model": "deepseek_r1"})
    assert models == [{"model": "Qwen/QwQ-32B", "revision": "976055f"},
                      {"model": "deepseek-ai/DeepSeek-R1", "revision": "56d4cbb",
                       "served_model": "deepseek-ai/DeepSeek-R1"}]
    assert seeds == {"seed": 3}
    served = dict(r1, endpoint={**r1["endpoint"], "served_model": "r1-local"})
    models, _, _ = provenance.models_and_datasets({"spec": served}, {"teachers": {}}, {})
    assert models[0]["served_model"] == "r1-local"


@pytest.mark.parametrize("mode, ends_early", [("tiny", True), ("paper", False)])
def test_tiny_world_jobs_end_without_teardown_once_recorded(tmp_path, mode, ends_early):
    """A tiny-world script job ends as soon as its outputs, log and provenance record are written (nothing after the
    job's block runs, no atexit handler); in paper mode the interpreter's own exit runs."""
    (tmp_path / "Snakefile").write_text(textwrap.dedent(f'''
        config["results_dir"] = "results"
        config["mode"] = "{mode}"

        rule job:
            output: "results/out.txt"
            log: "results/logs/job.log"
            script: "job.py"
    '''))
    (tmp_path / "job.py").write_text(
        "import atexit\nfrom ded.runtime import snakemake_job\n"
        "atexit.register(lambda: open('atexit.txt', 'w').write('ran'))\n"
        "with snakemake_job(snakemake) as log:\n"
        "    log.info('working')\n"
        "    open(snakemake.output[0], 'w').write('done')\n")
    snakemake = str(Path(sys.executable).parent / "snakemake")
    res = run([snakemake, "--cores", "1", "--quiet"], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert (tmp_path / "results/out.txt").read_text() == "done"
    assert "rule job done in" in (tmp_path / "results/logs/job.log").read_text()
    assert provenance.is_sealed(json.loads((tmp_path / "results/provenance/files/results/out.txt.json").read_text()))
    assert (tmp_path / "atexit.txt").exists() is not ends_early
