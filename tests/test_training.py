"""The training loop: it learns, it is deterministic, it stops on NaN, it stops early."""

from __future__ import annotations

import numpy as np
import pytest

import lib


def _regression(seed=0, n=200):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]]) + 0.1 * rng.standard_normal((n, 1))
    return X, y


def _model(seed=0):
    rng = np.random.default_rng(seed)
    return lib.Sequential(lib.Dense(3, 16, rng=rng), lib.Tanh(), lib.Dense(16, 1, rng=rng))


def test_fit_learns_and_is_deterministic():
    X, y = _regression()
    runs = []
    for _ in range(2):
        model = _model()
        history = lib.fit(model, lib.mse_loss, lib.Adam(model, lr=0.01), X, y, epochs=30, batch_size=32,
                          rng=np.random.default_rng(1), validation_data=(X[:50], y[:50]))
        runs.append(history.train_loss)
    assert runs[0] == runs[1]
    assert runs[0][-1] < 0.1 * runs[0][0]
    assert len(history.val_loss) == 30


def test_divergence_stops_with_a_message():
    X, y = _regression()
    model = _model()
    with pytest.raises(lib.TrainingDiverged, match=r"loss is (nan|inf) at epoch \d+, batch \d+"):
        lib.fit(model, lib.mse_loss, lib.SGD(model, lr=1e6), X, y * 1e3, epochs=20, batch_size=32,
                rng=np.random.default_rng(0))


def test_early_stopping_restores_the_best_parameters():
    X, y = _regression(n=60)
    X_val, y_val = _regression(seed=5, n=60)
    model = lib.Sequential(lib.Dense(3, 64, rng=np.random.default_rng(0)), lib.ReLU(),
                           lib.Dense(64, 1, rng=np.random.default_rng(1)))
    stopper = lib.EarlyStopping(patience=3)
    history = lib.fit(model, lib.mse_loss, lib.Adam(model, lr=0.05), X, y, epochs=300, batch_size=8,
                      rng=np.random.default_rng(0), validation_data=(X_val, y_val), early_stopping=stopper)
    assert history.stopped_early and len(history) < 300
    assert history.best_epoch == int(np.argmin(history.val_loss)) + 1
    assert lib.evaluate(model, lib.mse_loss, X_val, y_val) == pytest.approx(min(history.val_loss))


def test_metrics_and_scheduler():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 2))
    y = (X[:, 0] > 0).astype(int)
    model = lib.Sequential(lib.Dense(2, 2, rng=rng))
    opt = lib.SGD(model, lr=0.5)
    history = lib.fit(model, lib.softmax_cross_entropy, opt, X, y, epochs=5, batch_size=20, rng=rng,
                      metrics={"accuracy": lib.accuracy}, scheduler=lib.StepLR(opt, step_size=2, gamma=0.5))
    assert history.metrics["accuracy"][-1] > 0.9
    assert opt.lr == pytest.approx(0.5 * 0.5**2)


def test_minibatches_cover_everything_once():
    batches = list(lib.minibatches(10, 3, np.random.default_rng(0)))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert sorted(np.concatenate(batches)) == list(range(10))
    assert [list(b) for b in lib.minibatches(4, 2, shuffle=False)] == [[0, 1], [2, 3]]
    with pytest.raises(ValueError, match="explicit rng"):
        list(lib.minibatches(4, 2))


def test_no_progress_bar_in_tests(capsys):
    X, y = _regression(n=20)
    model = _model()
    lib.fit(model, lib.mse_loss, lib.SGD(model, lr=0.01), X, y, epochs=2, batch_size=10,
            rng=np.random.default_rng(0))
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_bad_input():
    model = _model()
    with pytest.raises(ValueError, match="same number of examples"):
        lib.fit(model, lib.mse_loss, lib.SGD(model, lr=0.1), np.zeros((5, 3)), np.zeros((4, 1)),
                epochs=1, batch_size=2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="patience"):
        lib.EarlyStopping(patience=0)


def test_divergence_inside_the_network_is_reported_as_divergence():
    X, y = _regression()
    model = _model()
    model.forward(X[:1])
    model.params["0.weight"][0, 0] = np.nan  # as if an update had overflowed
    with pytest.raises(lib.TrainingDiverged):
        lib.fit(model, lib.mse_loss, lib.SGD(model, lr=0.01), X, y, epochs=1, batch_size=300,
                rng=np.random.default_rng(0))


def test_nan_in_the_data_is_a_data_error():
    X, y = _regression()
    X[3, 1] = np.nan
    model = _model()
    with pytest.raises(ValueError, match="non-finite values .* in X") as info:
        lib.fit(model, lib.mse_loss, lib.SGD(model, lr=0.01), X, y, epochs=1, batch_size=10,
                rng=np.random.default_rng(0))
    assert not isinstance(info.value, lib.TrainingDiverged)


def test_minibatches_of_arrays():
    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    batches = list(lib.minibatches((X, y), 4, np.random.default_rng(1)))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0] // 2, yb)  # rows stay paired
    assert sorted(np.concatenate([yb for _, yb in batches])) == list(range(10))
    rows = list(lib.minibatches(X, 6, shuffle=False))
    np.testing.assert_array_equal(rows[1], X[6:])
    with pytest.raises(ValueError, match="equal length"):
        list(lib.minibatches((X, y[:5]), 2, shuffle=False))
    with pytest.raises(TypeError, match="an int, an array or a tuple"):
        list(lib.minibatches("data", 2))
    with pytest.raises(ValueError, match="batch_size"):
        list(lib.minibatches(10, 0, shuffle=False))


def test_fit_takes_positional_arguments_and_shows_progress_only_when_asked(capsys, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("NNBOOK_NO_PROGRESS", raising=False)
    X, y = _regression(n=20)
    model = _model()
    lib.fit(model, lib.mse_loss, lib.SGD(model, lr=0.01), X, y, 2, 10, np.random.default_rng(0))
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""  # not a terminal: auto means quiet
    lib.fit(model, lib.mse_loss, lib.SGD(model, lr=0.01), X, y, 2, 10, np.random.default_rng(0), progress=True)
    assert "epochs" in capsys.readouterr().err


def test_early_stopping_on_training_loss_without_restoring():
    X, y = _regression(n=40)
    model = _model()
    stopper = lib.EarlyStopping(patience=2, min_delta=1e9, restore_best=False)  # nothing counts as better
    history = lib.fit(model, lib.mse_loss, lib.SGD(model, lr=0.01), X, y, epochs=50, batch_size=10,
                      rng=np.random.default_rng(0), early_stopping=stopper)
    assert history.stopped_early and len(history) == 3 and history.best_epoch == 1
    assert history.val_loss == []


def test_accuracy():
    assert lib.accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0])) == 0.5
    assert lib.accuracy(np.array([[1.5], [-2.0]]), np.array([1, 1])) == 0.5


def test_fit_rejects_non_arrays_and_global_rng():
    model = _model()
    with pytest.raises(TypeError, match="X as a numpy array"):
        lib.fit(model, lib.mse_loss, lib.SGD(model, lr=0.1), [[0.0] * 3], np.zeros((1, 1)),
                epochs=1, batch_size=1, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="np.random.Generator"):
        lib.fit(model, lib.mse_loss, lib.SGD(model, lr=0.1), np.zeros((1, 3)), np.zeros((1, 1)),
                epochs=1, batch_size=1, rng=0)
