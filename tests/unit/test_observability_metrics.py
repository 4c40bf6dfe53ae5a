"""The dashboard and alarms of modules/observability read exactly the metrics the functions emit.

Both sides are read from the source, not from a hand-kept list:

- the functions' side from lambda_src/: every metric name passed to an EMF-emitting call
  (`observability.count/timed/record_latency`, `invalidation.count`, Powertools'
  `single_metric` and `add_metric`), as a literal or a module-level constant, plus Powertools'
  `ColdStart` where a handler captures it;
- the module's side from `local.app_metrics` in modules/observability, the one place its HCL
  names a metric of the application's namespace.

A metric renamed in Python and not in the module (or the other way round), a metric the
functions emit that the dashboard does not show, or a name the dashboard reads that nothing
emits, fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tools import hcl

REPO = hcl.REPO_ROOT
LAMBDA_SRC = REPO / "lambda_src"
MODULE = REPO / "modules" / "observability"
METRIC_NAME = re.compile(r"[A-Z][A-Za-z0-9]+")
# Calls that put a metric into an EMF document, by the callee's last name. The wrappers in
# shop.observability and shop.invalidation take the metric name first; Powertools takes it as
# `name` (single_metric, add_metric).
EMITTERS = {"count", "timed", "record_latency", "single_metric", "add_metric"}
NAME_KEYWORDS = ("name", "metric_name")


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def _constants(trees: dict[Path, ast.Module]) -> dict[str, str]:
    """Module-level NAME = "string" assignments of every file, by name."""
    found: dict[str, str] = {}
    for tree in trees.values():
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                for target in node.targets:
                    if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                        found[target.id] = node.value.value
    return found


def _resolve(node: ast.expr, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.Attribute):  # observability.READ
        return constants.get(node.attr)
    return None


def emitted_metric_names(source: Path = LAMBDA_SRC) -> set[str]:
    trees = {path: ast.parse(path.read_text(), str(path)) for path in sorted(source.rglob("*.py"))}
    constants = _constants(trees)
    names: set[str] = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                value = keyword.value
                if (
                    keyword.arg == "capture_cold_start_metric"
                    and isinstance(value, ast.Constant)
                    and value.value
                ):
                    names.add("ColdStart")  # Powertools emits it on each cold start
            if _callee(node) not in EMITTERS:
                continue
            candidates = [node.args[0]] if node.args else []
            candidates += [k.value for k in node.keywords if k.arg in NAME_KEYWORDS]
            for candidate in candidates:
                value = _resolve(candidate, constants)
                if value is not None and METRIC_NAME.fullmatch(value):
                    names.add(value)
    return names


def dashboard_metric_names(module: Path = MODULE) -> dict[str, str]:
    loaded = hcl.TerraformDir.load(module)
    return {key: hcl.unquote(value) for key, value in hcl.body_items(loaded.locals["app_metrics"])}


def module_text(module: Path = MODULE) -> str:
    """The module's HCL without comments and descriptions (prose may name metrics)."""
    text = "\n".join(path.read_text() for path in sorted(module.glob("*.tf")))
    text = re.sub(r"#[^\n]*", "", text)
    return re.sub(r'^\s*description\s*=\s*"[^\n]*$', "", text, flags=re.MULTILINE)


def test_the_functions_emit_metrics_the_extraction_finds() -> None:
    """The extraction itself works: the names the README's demo and the issue rely on are found."""
    assert {"StateReadLatency", "StateWriteLatency", "CacheHit", "CacheMiss", "ColdStart"} <= (
        emitted_metric_names()
    )


def test_dashboard_reads_exactly_the_emitted_metrics() -> None:
    emitted = emitted_metric_names()
    read = set(dashboard_metric_names().values())
    assert not read - emitted, (
        f"the dashboard/alarms read metrics no function emits: {sorted(read - emitted)}"
    )
    assert not emitted - read, (
        f"the functions emit metrics the dashboard leaves out: {sorted(emitted - read)}"
    )


def test_every_listed_metric_is_used_and_none_is_written_elsewhere() -> None:
    """Every entry of local.app_metrics is on the dashboard or in an alarm, and no .tf file of the
    module spells an application metric name outside that list (comments and descriptions aside)."""
    text = module_text()
    listed = dashboard_metric_names()
    unused = [key for key in listed if f"local.app_metrics.{key}" not in text]
    assert not unused, f"local.app_metrics entries nothing reads: {unused}"
    without_list = re.sub(r"app_metrics = \{.*?\n  \}", "", text, flags=re.DOTALL)
    spelled = [name for name in emitted_metric_names() if re.search(rf"\b{name}\b", without_list)]
    assert not spelled, f"write these through local.app_metrics: {spelled}"


def test_the_check_fails_when_either_side_drifts(tmp_path: Path) -> None:
    """A renamed metric on either side is caught."""
    source = tmp_path / "lambda_src"
    source.mkdir()
    (source / "emit.py").write_text(
        "from shop import observability\n"
        'RENAMED = "CacheHits"\n'
        "observability.count(RENAMED, 'cache')\n"
        "with observability.timed(observability.READ, 'dynamodb', 'GetCart'):\n    pass\n"
        'READ = "StateReadLatency"\n'
    )
    assert emitted_metric_names(source) == {"CacheHits", "StateReadLatency"}
    module = tmp_path / "module"
    module.mkdir()
    (module / "main.tf").write_text('locals {\n  app_metrics = {\n    cache_hit = "CacheHit"\n  }\n}\n')
    read = set(dashboard_metric_names(module).values())
    assert read == {"CacheHit"}
    assert read - emitted_metric_names(source) == {"CacheHit"}
