"""Expected values for the CBPE tests (issue 19), from NannyML 0.13.1 and scikit-learn.

Run (Python 3.11; see tools/cbpe/README.md):
    python3 -m venv /tmp/nml-venv && /tmp/nml-venv/bin/pip install -r tools/cbpe/requirements.txt
    /tmp/nml-venv/bin/python tools/cbpe/expected.py
Writes test/fixtures/cbpe/california-cbpe.json and test/fixtures/cbpe/unit-cases.json.
"""
import json
import os

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # no telemetry upload
import pathlib
import sys
from importlib.metadata import version

import numpy as np
import pandas as pd
import nannyml as nml
from nannyml.calibration import (
    IsotonicCalibrator,
    _calculate_expected_calibration_error,
    _get_bin_index_edges,
    needs_calibration,
)
from nannyml.performance_estimation.confidence_based.metrics import (
    estimate_accuracy,
    estimate_f1,
    estimate_precision,
    estimate_recall,
    estimate_roc_auc,
)
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedShuffleSplit

ROOT = pathlib.Path(__file__).resolve().parents[2]
DRIFT = ROOT / 'test' / 'fixtures' / 'drift'
OUT = ROOT / 'test' / 'fixtures' / 'cbpe'
METRICS = ['roc_auc', 'accuracy', 'precision', 'recall', 'f1']
VERSIONS = {p: version(p) for p in ['nannyml', 'scikit-learn', 'numpy', 'pandas', 'scipy']}
VERSIONS['python'] = sys.version.split()[0]


def num(x):
    """JSON number, or None for NaN / missing."""
    if x is None:
        return None
    x = float(x)
    return None if np.isnan(x) else x


def california():
    reference = pd.read_csv(DRIFT / 'california_housing_reference.csv')
    analysis = pd.read_csv(DRIFT / 'california_housing_analysis.csv')
    truth = pd.read_csv(DRIFT / 'california_housing_analysis_gt.csv')
    analysis = analysis.merge(truth, on='id')
    for df in (reference, analysis):
        df['timestamp'] = pd.to_datetime(df['timestamp'])
    # The published call: CBPE(metrics=['roc_auc'], chunk_period='M', problem_type='classification_binary').
    results = {}
    for metrics in (['roc_auc'], METRICS):
        cbpe = nml.CBPE(
            y_pred_proba='y_pred_proba',
            y_pred='y_pred',
            y_true='clf_target',
            timestamp_column_name='timestamp',
            metrics=metrics,
            chunk_period='M',
            problem_type='classification_binary',
        )
        cbpe.fit(reference)
        results[tuple(metrics)] = (cbpe, cbpe.estimate(analysis).filter(period='analysis').to_df())
    only_auc = results[('roc_auc',)][1]
    cbpe, full = results[tuple(METRICS)]
    months = []
    for i in range(len(full)):
        row = full.iloc[i]
        start = pd.Timestamp(row[('chunk', 'start_date')])
        entry = {'start': start.strftime('%Y-%m-%dT%H:%M:%S.000Z'), 'count': int(row[('chunk', 'end_index')] - row[('chunk', 'start_index')] + 1)}
        for m in METRICS:
            entry[m] = {
                'estimated': num(row[(m, 'value')]),
                'realized': num(row[(m, 'realized')]),
                'lower_threshold': num(row[(m, 'lower_threshold')]),
                'upper_threshold': num(row[(m, 'upper_threshold')]),
                'alert': bool(row[(m, 'alert')]),
            }
        # The roc_auc-only call gives the same estimate (each metric is estimated alone).
        assert only_auc.iloc[i][('roc_auc', 'value')] == row[('roc_auc', 'value')]
        months.append(entry)
    labeled = reference.reset_index(drop=True)
    stable = calibration_case('california reference', labeled['clf_target'].to_numpy(), labeled['y_pred_proba'].to_numpy())
    regressor = cbpe.calibrator._regressor
    return {
        'call': "CBPE(y_pred_proba='y_pred_proba', y_pred='y_pred', y_true='clf_target', timestamp_column_name='timestamp', "
        "metrics=[...], chunk_period='M', problem_type='classification_binary'); fit(reference 2020-10-01..2021-06-01); "
        "estimate(analysis with clf_target)",
        'needs_calibration': bool(cbpe.needs_calibration),
        'ece': {k: stable[k] for k in ('ece_before', 'ece_after', 'ece_before_nannyml', 'ece_after_nannyml')},
        'calibrator': {
            'x': regressor.X_thresholds_.tolist() if cbpe.needs_calibration else None,
            'y': regressor.y_thresholds_.tolist() if cbpe.needs_calibration else None,
        },
        'months': months,
    }


def isotonic_case(name, x, y, probes):
    reg = IsotonicRegression(out_of_bounds='clip', increasing=True).fit(np.asarray(x, float), np.asarray(y, float))
    return {
        'name': name,
        'x': list(map(float, x)),
        'y': list(map(float, y)),
        'thresholds_x': reg.X_thresholds_.tolist(),
        'thresholds_y': reg.y_thresholds_.tolist(),
        'probes': list(map(float, probes)),
        'predicted': reg.predict(np.asarray(probes, float)).tolist(),
    }


def calibration_case(name, y_true, scores):
    y_true = np.asarray(y_true)
    scores = np.asarray(scores, float)
    decision = needs_calibration(pd.Series(y_true), pd.Series(scores), IsotonicCalibrator())
    case = {'name': name, 'y_true': y_true.tolist(), 'scores': scores.tolist(), 'needs_calibration': bool(decision)}
    if len(np.unique(y_true)) > 1:
        sss = StratifiedShuffleSplit(n_splits=10, test_size=0.1, random_state=42)
        splits = list(sss.split(scores, y_true))
        case['first_split'] = {'train': splits[0][0].tolist(), 'test': splits[0][1].tolist()}
        # ECE before / after with a stable sort of the tested scores (NannyML's argsort is numpy's
        # default, unstable among equal scores; the stable order is what the TypeScript port uses).
        y_all, p_all, c_all = [], [], []
        for train, test in splits:
            cal = IsotonicCalibrator()
            cal.fit(scores[train], y_true[train])
            y_all.append(y_true[test]); p_all.append(scores[test]); c_all.append(cal.calibrate(scores[test]))
        y_all, p_all, c_all = map(np.concatenate, (y_all, p_all, c_all))
        edges = _get_bin_index_edges(len(p_all), 10)

        def ece(proba):
            # NannyML's _calculate_expected_calibration_error with a stable sort.
            order = np.argsort(proba, kind='stable')
            p, t = proba[order], y_all[order]
            return float(np.sum([(r - l) / len(p) * abs(np.mean(p[l:r]) - np.mean(t[l:r])) for l, r in edges]))

        case['ece_before'] = ece(p_all)
        case['ece_after'] = ece(c_all)
        case['ece_before_nannyml'] = float(_calculate_expected_calibration_error(y_all, p_all, edges))
        case['ece_after_nannyml'] = float(_calculate_expected_calibration_error(y_all, c_all, edges))
        # The decision with the stable order (ROC AUC > 0.999 decides before any ECE).
        separable = roc_auc_score(y_true, scores) > 0.999
        case['needs_calibration_stable'] = bool(not separable and case['ece_before'] > case['ece_after'])
    return case


def estimator_case(name, y_pred, calibrated, scores):
    y_pred = np.asarray(y_pred)
    calibrated = np.asarray(calibrated, float)
    scores = np.asarray(scores, float)
    return {
        'name': name,
        'y_pred': y_pred.tolist(),
        'calibrated': calibrated.tolist(),
        'scores': scores.tolist(),
        'roc_auc': num(estimate_roc_auc(calibrated, scores)),
        'accuracy': num(estimate_accuracy(y_pred, calibrated)),
        'precision': num(estimate_precision(y_pred, calibrated)),
        'recall': num(estimate_recall(y_pred, calibrated)),
        'f1': num(estimate_f1(y_pred, calibrated)),
    }


def unit_cases():
    rng = np.random.RandomState(7)
    n = 400
    scores = np.round(rng.uniform(0, 1, n), 2)
    y = (rng.uniform(0, 1, n) < scores ** 2).astype(int)
    continuous = rng.beta(2, 3, 300)
    y_cont = (rng.uniform(0, 1, 300) < continuous).astype(int)
    edge_scores = np.concatenate([np.zeros(20), np.ones(20), np.round(rng.uniform(0, 1, 160), 1)])
    edge_y = (rng.uniform(0, 1, 200) < np.clip(edge_scores, 0.05, 0.95)).astype(int)
    isotonic = [
        isotonic_case('sklearn docstring-like, ties in x', [1, 2, 2, 3, 4, 4, 5], [1, 0, 1, 0, 1, 1, 0], [0, 1, 1.5, 2, 2.5, 3.99, 5, 6]),
        isotonic_case('decreasing data pools to one value', [0.1, 0.2, 0.3, 0.4], [1, 1, 0, 0], [0, 0.25, 1]),
        isotonic_case('single class in y', [0.1, 0.5, 0.5, 0.9], [0, 0, 0, 0], [0, 0.5, 1]),
        isotonic_case('one distinct x', [0.3, 0.3, 0.3], [0, 1, 1], [0, 0.3, 1]),
        isotonic_case('scores exactly 0 and 1', edge_scores, edge_y, [-0.5, 0, 0.05, 0.5, 0.95, 1, 1.5]),
        isotonic_case('two-decimal scores with many ties', scores, y, np.linspace(-0.1, 1.1, 61)),
        isotonic_case('continuous scores', continuous, y_cont, np.linspace(0, 1, 41)),
    ]
    calibration = [
        calibration_case('two-decimal scores, calibration helps', y, scores),
        calibration_case('already calibrated continuous scores', y_cont, continuous),
        calibration_case('scores exactly 0 and 1', edge_y, edge_scores),
        calibration_case('single class in the reference', np.zeros(50, int), np.round(rng.uniform(0, 1, 50), 2)),
        calibration_case('perfect separation (ROC AUC > 0.999)', [0] * 30 + [1] * 30, np.concatenate([rng.uniform(0, 0.4, 30), rng.uniform(0.6, 1, 30)])),
        calibration_case('overconfident scores', (rng.uniform(0, 1, 500) < 0.5).astype(int), np.round(rng.uniform(0, 1, 500), 3)),
    ]
    reg = IsotonicRegression(out_of_bounds='clip', increasing=True).fit(scores, y)
    estimators = [
        estimator_case('calibrated two-decimal scores', (scores >= 0.5).astype(int), reg.predict(scores), scores),
        estimator_case('continuous, uncalibrated', (continuous >= 0.4).astype(int), continuous, continuous),
        estimator_case('scores exactly 0 and 1', (edge_scores >= 0.5).astype(int), edge_scores, edge_scores),
        estimator_case('no predicted positive', np.zeros(10, int), np.linspace(0.05, 0.45, 10), np.linspace(0.05, 0.45, 10)),
        estimator_case('every probability 0', [0, 1, 0, 1], [0, 0, 0, 0], [0.1, 0.6, 0.2, 0.7]),
        estimator_case('one row', [1], [0.7], [0.7]),
        estimator_case('all tied scores', [1, 1, 1, 1, 1], [0.6] * 5, [0.6] * 5),
    ]
    return {'isotonic': isotonic, 'calibration': calibration, 'estimators': estimators}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / 'california-cbpe.json').write_text(json.dumps({'versions': VERSIONS, **california()}, indent=1) + '\n')
    (OUT / 'unit-cases.json').write_text(json.dumps({'versions': VERSIONS, **unit_cases()}) + '\n')


if __name__ == '__main__':
    main()
