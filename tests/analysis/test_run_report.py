import json

from analysis.run_report import build_run_report


def _eval(run_dir, label, cos, ctcvr):
    path = run_dir / "eval" / label
    path.mkdir(parents=True)
    metric = lambda v: {"value": v, "ci_low": v - 0.01, "ci_high": v + 0.01, "higher_is_better": True, "group": "g"}  # noqa: E731
    path.joinpath("eval_metrics.json").write_text(json.dumps(
        {"label": label, "metrics": {"Semantic_Cosine": metric(cos), "CTCVR": metric(ctcvr)}}))


def test_report_orders_models_as_given_and_compares_last_with_each_other(tmp_path):
    _eval(tmp_path, "base", 0.2, 0.0)
    _eval(tmp_path, "sft", 0.3, 0.05)
    _eval(tmp_path, "rl", 0.4, 0.20)
    report = build_run_report(tmp_path, labels=["base", "sft", "rl"]).read_text()
    assert "| group | metric | base | sft | rl | rl vs base | rl vs sft |" in report
    assert ("| g | Semantic_Cosine | 0.2000 [0.1900, 0.2100] | 0.3000 [0.2900, 0.3100] | 0.4000 [0.3900, 0.4100] "
            "| +100.0% | +33.3% |") in report
    # a zero baseline has no relative change: the absolute difference is shown instead
    assert "| g | CTCVR | 0.0000 [-0.0100, 0.0100] | 0.0500 [0.0400, 0.0600] | 0.2000 [0.1900, 0.2100] | +0.2000 (abs.) | +300.0% |" in report
    assert (tmp_path / "pareto.png").stat().st_size > 0
