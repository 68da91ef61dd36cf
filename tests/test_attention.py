"""Attention: MultiHeadAttention equals torch.nn.MultiheadAttention and scaled_dot_product_attention equals
torch.nn.functional.scaled_dot_product_attention, masks included (bool and float, causal and padding);
finite differences for the rest; every bad mask or input is a clear error."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lib

torch = pytest.importorskip("torch", reason="PyTorch not installed: cross-checks skipped (make test installs it)")
TOL = 1e-10
N, LQ, LK, E, HEADS = 3, 4, 6, 8, 2


def _mha_pair(E=E, heads=HEADS, seed=0):
    ours = lib.MultiHeadAttention(E, heads, rng=np.random.default_rng(seed))
    theirs = torch.nn.MultiheadAttention(E, heads, batch_first=True).double()
    rng = np.random.default_rng(seed + 1)
    state = {k: rng.standard_normal(v.shape) * 0.5 for k, v in ours.params.items()}  # non-zero biases too
    ours.load_state_dict(state)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    return ours, theirs


def _masks(kind: str, Lq: int, Lk: int):
    """(attn_mask, key_padding_mask) in PyTorch's convention (bool True = may not attend)."""
    causal = np.triu(np.ones((Lq, Lk), bool), 1)       # key j > query i is hidden
    padding = np.zeros((N, Lk), bool)
    padding[1, Lk - 2:] = True                          # sequence 1 has 2 padded keys
    padding[2, Lk - 1:] = True                          # sequence 2 has 1

    def as_float(m):
        return np.where(m, -np.inf, 0.0)

    per_head = np.zeros((N * HEADS, Lq, Lk), bool)
    per_head[1, :, 0] = True                            # sequence 0, head 1 may not see key 0
    per_head[4, :, 1:3] = True                          # sequence 2, head 0 may not see keys 1, 2
    rng = np.random.default_rng(9)
    return {
        "none": (None, None),
        "causal-bool": (causal, None),
        "causal-float": (as_float(causal), None),
        "padding-bool": (None, padding),
        "padding-float": (None, as_float(padding)),
        "causal-and-padding-bool": (causal, padding),
        "causal-and-padding-float": (as_float(causal), as_float(padding)),
        "causal-float-padding-bool": (as_float(causal), padding),
        "per-head-bool": (per_head, padding),
        "soft-float": (rng.normal(size=(Lq, Lk)), None),  # any finite additive bias
    }[kind]


KINDS = ["none", "causal-bool", "causal-float", "padding-bool", "padding-float", "causal-and-padding-bool",
         "causal-and-padding-float", "causal-float-padding-bool", "per-head-bool", "soft-float"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("self_attention", [False, True])
@pytest.mark.parametrize("average", [True, False])
def test_multihead_equals_torch(kind, self_attention, average):
    rng = np.random.default_rng(3)
    ours, theirs = _mha_pair()
    Lk = LQ if self_attention else LK
    q = rng.standard_normal((N, LQ, E))
    k = q if self_attention else rng.standard_normal((N, Lk, E))
    v = q if self_attention else rng.standard_normal((N, Lk, E))
    attn_mask, key_padding_mask = _masks(kind, LQ, Lk)
    out, weights = ours.forward(q, k, v, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                average_attn_weights=average)
    g = rng.standard_normal(out.shape)
    dq, dk, dv = ours.backward(g)

    qt = torch.tensor(q, requires_grad=True)
    kt = qt if self_attention else torch.tensor(k, requires_grad=True)
    vt = qt if self_attention else torch.tensor(v, requires_grad=True)
    kwargs = {name: torch.tensor(m) for name, m in (("attn_mask", attn_mask), ("key_padding_mask", key_padding_mask))
              if m is not None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch warns when the two masks' types differ
        tout, tweights = theirs(qt, kt, vt, average_attn_weights=average, **kwargs)
    (tout * torch.tensor(g)).sum().backward()
    assert weights.shape == tuple(tweights.shape) == ((N, LQ, Lk) if average else (N, HEADS, LQ, Lk))
    errors = {"out": lib.relative_error(out, tout.detach().numpy()),
              "weights": lib.relative_error(weights, tweights.detach().numpy())}
    if self_attention:
        errors["dx"] = lib.relative_error(dq + dk + dv, qt.grad.numpy())
    else:
        errors.update(dq=lib.relative_error(dq, qt.grad.numpy()), dk=lib.relative_error(dk, kt.grad.numpy()),
                      dv=lib.relative_error(dv, vt.grad.numpy()))
    for name, p in theirs.named_parameters():
        errors[name] = lib.relative_error(ours.grads[name], p.grad.numpy())
    assert max(errors.values()) < TOL, errors
    hidden = np.zeros((N, HEADS, LQ, Lk), bool)
    if attn_mask is not None and attn_mask.dtype == bool:
        hidden |= attn_mask if attn_mask.ndim == 2 else attn_mask.reshape(N, HEADS, LQ, Lk)
    if key_padding_mask is not None and key_padding_mask.dtype == bool:
        hidden |= key_padding_mask[:, None, None, :]
    per_head = ours.forward(q, k, v, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                            average_attn_weights=False)[1]
    assert (per_head[hidden] == 0).all()  # masked keys get exactly zero weight


def test_multihead_need_weights_false():
    ours, _ = _mha_pair()
    x = np.random.default_rng(0).standard_normal((2, 3, E))
    out, weights = ours.forward(x, x, x, need_weights=False)
    assert weights is None and out.shape == (2, 3, E)


def test_multihead_gradient_check_with_masks():
    rng = np.random.default_rng(11)
    mha = lib.MultiHeadAttention(4, 2, rng=rng)
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 4))
    attn_mask = np.where(np.triu(np.ones((3, 5), bool), 2), -np.inf, 0.0) + 0.3 * rng.standard_normal((3, 5))
    padding = np.array([[False] * 5, [False, False, False, True, True]])
    g = rng.standard_normal((2, 3, 4))

    def loss():
        return float((mha.forward(q, k, v, attn_mask=attn_mask, key_padding_mask=padding)[0] * g).sum())

    loss()
    dq, dk, dv = mha.backward(g)
    analytic = {"q": dq, "k": dk, "v": dv, **{name: a.copy() for name, a in mha.grads.items()}}
    errors = lib.gradient_check(loss, {"q": q, "k": k, "v": v, **mha.params}, analytic)
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("kind", ["none", "bool", "float", "causal", "broadcast-bool", "scale"])
def test_scaled_dot_product_equals_torch(kind):
    rng = np.random.default_rng(4)
    q, k, v = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((2, 3, 6, 2))
    keep = rng.random((2, 3, 4, 6)) > 0.3
    keep[..., 0] = True                           # every query keeps one key
    args = {"none": {}, "bool": {"attn_mask": keep},
            "float": {"attn_mask": np.where(keep, 0.0, -np.inf) + rng.standard_normal((2, 3, 4, 6))},
            "causal": {"is_causal": True},
            "broadcast-bool": {"attn_mask": keep[0, 0]},
            "scale": {"scale": 0.7, "attn_mask": keep[:, :1]}}[kind]
    out, weights = lib.scaled_dot_product_attention(q, k, v, **args)
    qt, kt, vt = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    targs = {name: (torch.tensor(a) if isinstance(a, np.ndarray) else a) for name, a in args.items()}
    tout = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, **targs)
    g = rng.standard_normal(out.shape)
    (tout * torch.tensor(g)).sum().backward()
    att = lib.ScaledDotProductAttention()
    att.forward(q, k, v, **args)
    grads = att.backward(g)
    errors = {"out": lib.relative_error(out, tout.detach().numpy())}
    for name, ours, theirs in zip("qkv", grads, (qt, kt, vt), strict=True):
        errors["d" + name] = lib.relative_error(ours, theirs.grad.numpy())
    assert max(errors.values()) < TOL, errors
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0)
    if kind == "bool":
        assert (weights[~keep] == 0).all()  # True = takes part (PyTorch's F.sdpa convention)
    if kind == "causal":
        assert (weights[..., np.triu(np.ones((4, 6), bool), 1)] == 0).all()


def test_scaled_dot_product_gradient_check():
    rng = np.random.default_rng(4)
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 2))
    mask = np.ones((2, 3, 5), bool)
    mask[0, :, 3:] = False
    att = lib.ScaledDotProductAttention()
    g = rng.standard_normal((2, 3, 2))
    att.forward(q, k, v, mask)
    dq, dk, dv = att.backward(g)
    errors = lib.gradient_check(lambda: float((att.forward(q, k, v, mask)[0] * g).sum()),
                                {"q": q, "k": k, "v": v}, {"q": dq, "k": dk, "v": dv})
    assert max(errors.values()) < 1e-7, errors
    out, w = lib.scaled_dot_product_attention(q, k, v, mask)
    assert (w[0, :, 3:] == 0).all()
    np.testing.assert_allclose(w.sum(axis=-1), 1.0)


@pytest.mark.parametrize("float_mask", [False, True])
def test_additive_attention_gradient_check(float_mask):
    rng = np.random.default_rng(5)
    att = lib.AdditiveAttention(query_dim=3, key_dim=4, hidden_dim=5, rng=rng)
    query, keys, values = rng.standard_normal((2, 3)), rng.standard_normal((2, 6, 4)), rng.standard_normal((2, 6, 2))
    padding = np.zeros((2, 6), bool)
    padding[1, 4:] = True
    mask = np.where(padding, -np.inf, 0.0) if float_mask else padding
    g = rng.standard_normal((2, 2))
    context, weights = att.forward(query, keys, values, key_padding_mask=mask)
    assert (weights[1, 4:] == 0).all() and np.allclose(weights.sum(axis=1), 1)
    dq, dk, dv = att.backward(g)
    analytic = {"query": dq, "keys": dk, "values": dv, **{k: v.copy() for k, v in att.grads.items()}}
    errors = lib.gradient_check(lambda: float((att.forward(query, keys, values, key_padding_mask=mask)[0] * g).sum()),
                                {"query": query, "keys": keys, "values": values, **att.params}, analytic)
    assert max(errors.values()) < 1e-7, errors


def test_masked_inputs_do_not_change_outputs():
    rng = np.random.default_rng(6)
    mha = lib.MultiHeadAttention(4, 2, rng=rng)
    x = rng.standard_normal((1, 5, 4))
    padding = np.array([[False, False, False, True, True]])
    out1, _ = mha.forward(x, x, x, key_padding_mask=padding)
    x2 = x.copy()
    x2[0, 3:] = 100.0
    out2, _ = mha.forward(x[:, :3], x2, x2, key_padding_mask=padding)
    np.testing.assert_allclose(out1[:, :3], out2, atol=1e-12)


def test_float_and_bool_masks_agree():
    rng = np.random.default_rng(7)
    mha = lib.MultiHeadAttention(4, 2, rng=rng)
    x = rng.standard_normal((2, 5, 4))
    causal = np.triu(np.ones((5, 5), bool), 1)
    a = mha.forward(x, x, x, attn_mask=causal)
    b = mha.forward(x, x, x, attn_mask=np.where(causal, -np.inf, 0.0))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_fully_masked_rows_are_an_error():
    """PyTorch gives zeros (F.sdpa) or NaN (nn.MultiheadAttention with need_weights=True) for a query with no
    visible key; lib refuses."""
    x = np.zeros((2, 3, 4))
    mha = lib.MultiHeadAttention(4, 2)
    everything = np.ones((3, 3), bool)
    with pytest.raises(ValueError, match=r"MultiHeadAttention: the mask hides every key from query \(0, 0, 0\) "
                                         r"\(axes \(batch, head, query\)\)"):
        mha.forward(x, x, x, attn_mask=everything)
    with pytest.raises(ValueError, match=r"hides every key from query \(1, 0, 0\)"):
        mha.forward(x, x, x, key_padding_mask=np.array([[False] * 3, [True] * 3]))
    with pytest.raises(ValueError, match="hides every key"):
        mha.forward(x, x, x, attn_mask=np.full((3, 3), -np.inf))
    with pytest.raises(ValueError, match="scaled_dot_product_attention: the mask hides every key"):
        lib.scaled_dot_product_attention(x, x, x, attn_mask=np.zeros((3, 3), bool))
    att = lib.AdditiveAttention(4, 4, 3)
    with pytest.raises(ValueError, match=r"AdditiveAttention: the mask hides every key from query \(1\)"):
        att.forward(x[:, 0], x, key_padding_mask=np.array([[False] * 3, [True] * 3]))


def test_multihead_bad_masks():
    mha = lib.MultiHeadAttention(4, 2)
    x, y = np.zeros((2, 3, 4)), np.zeros((2, 5, 4))
    shape_msg = r"expected attn_mask of shape \(Lq, Lk\) = \(3, 5\) or \(N·num_heads, Lq, Lk\) = \(4, 3, 5\)"
    for bad in (np.zeros((2, 5), bool), np.zeros((5, 3), bool), np.zeros((2, 1, 3, 5), bool),
                np.zeros((2, 3, 5), bool), np.zeros(5, bool)):
        with pytest.raises(ValueError, match=shape_msg):
            mha.forward(x, y, y, attn_mask=bad)
    for bad in (np.zeros((3, 5), bool), np.zeros((2, 1, 1, 5), bool), np.zeros((5,), bool)):
        with pytest.raises(ValueError, match=r"expected key_padding_mask of shape \(N, Lk\) = \(2, 5\)"):
            mha.forward(x, y, y, key_padding_mask=bad)
    with pytest.raises(TypeError, match=r"attn_mask expected a bool mask \(True = may not attend\) or a "
                                        r"float32/float64 mask added to the scores, got dtype int64"):
        mha.forward(x, y, y, attn_mask=np.zeros((3, 5), np.int64))
    with pytest.raises(TypeError, match="key_padding_mask expected a numpy array"):
        mha.forward(x, y, y, key_padding_mask=[[True] * 5] * 2)
    with pytest.raises(ValueError, match="may hold finite values and -inf only; got NaN or"):
        mha.forward(x, y, y, attn_mask=np.full((3, 5), np.nan))
    with pytest.raises(ValueError, match="may hold finite values and -inf only"):
        mha.forward(x, y, y, key_padding_mask=np.full((2, 5), np.inf))
    with pytest.raises(TypeError, match="unexpected keyword argument 'mask'"):
        mha.forward(x, y, y, mask=np.ones((3, 5), bool))
    with pytest.raises(TypeError, match="positional"):
        mha.forward(x, y, y, np.ones((2, 5), bool))  # masks are keyword-only: no kind mix-up


def test_multihead_bad_input():
    with pytest.raises(ValueError, match="divisible"):
        lib.MultiHeadAttention(6, 4)
    with pytest.raises(ValueError, match="MultiHeadAttention expected num_heads to be a positive int, got 0"):
        lib.MultiHeadAttention(4, 0)
    with pytest.raises(TypeError, match="MultiHeadAttention expected rng to be an np.random.Generator"):
        lib.MultiHeadAttention(4, 2, rng=0)
    mha = lib.MultiHeadAttention(4, 2)
    with pytest.raises(ValueError, match=r"MultiHeadAttention query expected input of shape \(batch, Lq, 4\)"):
        mha.forward(np.zeros((2, 3, 5)), np.zeros((2, 3, 5)), np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match=r"MultiHeadAttention key expected input of shape \(2, Lk, 4\), got \(3, 3"):
        mha.forward(np.zeros((2, 3, 4)), np.zeros((3, 3, 4)), np.zeros((3, 3, 4)))
    with pytest.raises(ValueError, match=r"MultiHeadAttention value expected input of shape \(2, 3, 4\)"):
        mha.forward(np.zeros((2, 3, 4)), np.zeros((2, 3, 4)), np.zeros((2, 4, 4)))
    with pytest.raises(TypeError, match="dtype float64, got float32"):
        x = np.zeros((1, 2, 4), np.float32)
        mha.forward(x, x, x)
    with pytest.raises(ValueError, match=r"MultiHeadAttention key got an empty input: Lk = 0 in shape \(1, 0, 4\)"):
        mha.forward(np.zeros((1, 2, 4)), np.zeros((1, 0, 4)), np.zeros((1, 0, 4)))
    with pytest.raises(ValueError, match=r"MultiHeadAttention query got an empty input: N = 0"):
        mha.forward(np.zeros((0, 2, 4)), np.zeros((0, 2, 4)), np.zeros((0, 2, 4)))
    with pytest.raises(ValueError, match="MultiHeadAttention query got non-finite values"):
        x = np.full((1, 2, 4), np.nan)
        mha.forward(x, x, x)
    with pytest.raises(RuntimeError, match="MultiHeadAttention.backward called before forward"):
        lib.MultiHeadAttention(4, 2).backward(np.zeros((1, 2, 4)))
    x = np.zeros((2, 3, 4))
    mha.forward(x, x, x)
    with pytest.raises(ValueError, match=r"MultiHeadAttention.backward expected a gradient of shape \(2, 3, 4\)"):
        mha.backward(np.zeros((3, 2, 4)))  # same size, wrong shape
    with pytest.raises(ValueError, match="MultiHeadAttention.backward got non-finite values"):
        mha.backward(np.full((2, 3, 4), np.inf))
    with pytest.raises(TypeError, match="MultiHeadAttention.backward expected a gradient of dtype float64"):
        mha.backward(np.zeros((2, 3, 4), np.float32))


def test_scaled_dot_product_bad_input():
    q, k, v = np.zeros((2, 3, 4)), np.zeros((2, 5, 4)), np.zeros((2, 5, 2))
    sdpa = lib.scaled_dot_product_attention
    with pytest.raises(ValueError, match=r"expected attn_mask broadcastable to the scores \(..., Lq, Lk\) = "
                                         r"\(2, 3, 5\), e.g. \(3, 5\); got \(5, 3\)"):
        sdpa(q, k, v, attn_mask=np.ones((5, 3), bool))
    with pytest.raises(ValueError, match="broadcastable to the scores"):
        sdpa(q, k, v, attn_mask=np.ones((1, 2, 3, 5), bool))  # would grow the scores
    with pytest.raises(ValueError, match="either attn_mask or is_causal=True, not both"):
        sdpa(q, k, v, attn_mask=np.ones((3, 5), bool), is_causal=True)
    with pytest.raises(TypeError, match=r"True = takes part in attention"):
        sdpa(q, k, v, attn_mask=np.ones((3, 5), np.int8))
    with pytest.raises(ValueError, match=r"expected query \(..., Lq, d\), key \(..., Lk, d\), value \(..., Lk, dv\)"):
        sdpa(q, np.zeros((2, 5, 3)), v)
    with pytest.raises(ValueError, match="with the same leading axes"):
        sdpa(np.zeros((1, 3, 4)), k, v)  # no silent broadcasting of the batch axes
    with pytest.raises(TypeError, match="of one dtype"):
        sdpa(q.astype(np.float32), k, v)
    with pytest.raises(TypeError, match="expected float32 or float64 query, got int64"):
        sdpa(np.zeros((2, 3, 4), int), k, v)
    with pytest.raises(ValueError, match=r"key got an empty input: Lk = 0"):
        sdpa(q, np.zeros((2, 0, 4)), np.zeros((2, 0, 2)))
    with pytest.raises(ValueError, match=r"expected query of shape \(..., L, d\), got \(4,\)"):
        sdpa(np.zeros(4), k, v)
    with pytest.raises(ValueError, match="expected scale to be a finite number or None"):
        sdpa(q, k, v, scale=float("nan"))
    with pytest.raises(RuntimeError, match="ScaledDotProductAttention.backward called before forward"):
        lib.ScaledDotProductAttention().backward(np.zeros((2, 3, 2)))
    att = lib.ScaledDotProductAttention()
    att.forward(q, k, v)
    with pytest.raises(ValueError, match=r"ScaledDotProductAttention.backward expected a gradient of shape \(2, 3"):
        att.backward(np.zeros((2, 2, 3)))


def test_additive_attention_bad_input():
    with pytest.raises(ValueError, match="AdditiveAttention expected hidden_dim to be a positive int, got 0"):
        lib.AdditiveAttention(3, 4, 0)
    att = lib.AdditiveAttention(3, 4, 5)
    query, keys = np.zeros((2, 3)), np.zeros((2, 6, 4))
    with pytest.raises(ValueError, match=r"expected key_padding_mask of shape \(N, L\) = \(2, 6\), got \(6,\)"):
        att.forward(query, keys, key_padding_mask=np.zeros(6, bool))
    with pytest.raises(ValueError, match=r"AdditiveAttention query expected input of shape \(2, 3\), got \(3, 3\)"):
        att.forward(np.zeros((3, 3)), keys)
    with pytest.raises(ValueError, match=r"AdditiveAttention values expected input of shape \(2, 6, Dv\)"):
        att.forward(query, keys, np.zeros((2, 5, 4)))
    with pytest.raises(ValueError, match=r"AdditiveAttention keys got an empty input: L = 0"):
        att.forward(query, np.zeros((2, 0, 4)))
    with pytest.raises(RuntimeError, match="AdditiveAttention.backward called before forward"):
        att.backward(np.zeros((2, 4)))
    att.forward(query, keys)
    with pytest.raises(ValueError, match=r"AdditiveAttention.step_backward expected a gradient of shape \(2, 4\)"):
        att.backward(np.zeros((4, 2)))
    with pytest.raises(TypeError, match="expected the cache returned by step"):
        att.step_backward(np.zeros((2, 4)), None)
