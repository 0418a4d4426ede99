"""The README's example rule is real code: it registers, trains and learns."""

import re
from pathlib import Path

import rhmlib
from rhmlib.rules import RULES

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_example_rule_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    example = next(b for b in blocks if "class ReadoutOnly" in b)
    # Train it briefly on a small grammar rather than the README's full recipe.
    example = example.replace("rhmlib.run_experiment(16, 16, 4, 2, 3, P=2000, ",
                              "rhmlib.run_experiment(8, 4, 2, 2, 3, P=200, n_test=100, ")
    namespace = {"rhmlib": rhmlib}
    try:
        exec(compile(example, str(README), "exec"), namespace)
        result = namespace["result"]
        assert result.config["rule"] == "readout_only" and result.config["steps"] == 2000
        assert result.test_accuracy > 0.25  # chance is 1 / 4
    finally:
        RULES.pop("readout_only", None)
