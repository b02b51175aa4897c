"""Checkers for lesson 06 (attention and BERT): the framework is the answer key.

    check_scaled_dot_product_attention(fn)   fn(q (B, Tq, d), k (B, Tk, d), v (B, Tk, dv))
                                              -> (output (B, Tq, dv), weights (B, Tq, Tk))
    check_masked_attention(fn)               fn(q, k, v, mask bool (B, Tq, Tk), True = may attend)
                                              -> (output, weights)
    check_mlm_masking(fn)                    fn(token_ids int (B, T), rng, mask_token_id, vocab_size,
                                                special_ids, selection_rate)
                                              -> (masked_ids int (B, T), selected bool (B, T))

Attention answers come from ``keras.layers.MultiHeadAttention`` with one head and identity
projections, which reduces it to bare scaled dot-product attention softmax(q k^T / sqrt(d)) v.
The masking rule is compared statistically with keras_hub's ``MaskedLMMaskGenerator`` run on the
same tokens: how many tokens are selected, and how the selected ones are split between [MASK],
a random token and "left unchanged" (BERT's 80/10/10 rule, Devlin et al. 2019).
"""
from __future__ import annotations

import numpy as np

from . import CheckFailure, assert_close, call_learner, describe_case, passed
from . import in_float32

# (name, B, Tq, Tk, d, dv, scale of q and k): batch > 1, Tq != Tk, Tq = 1, d large enough that
# forgetting sqrt(d) changes the answer.
ATTENTION_CASES = (
    ("square", 1, 4, 4, 8, 8, 1.0),
    ("batch_rect", 2, 3, 5, 16, 4, 1.0),
    ("one_query", 3, 1, 6, 12, 5, 0.7),
    ("large_d", 2, 5, 7, 64, 6, 0.5),
)


def _keras_attention(q, k, v, mask=None):
    """softmax(q k^T / sqrt(d)) v via keras.layers.MultiHeadAttention (1 head, identity projections)."""
    import keras

    d, dv = q.shape[-1], v.shape[-1]
    mha = keras.layers.MultiHeadAttention(num_heads=1, key_dim=d, value_dim=dv, output_shape=dv,
                                          dtype="float64")
    mha.build(query_shape=q.shape, value_shape=v.shape, key_shape=k.shape)
    eye = lambda n: np.eye(n)[:, None, :]            # (n, 1 head, n)
    mha.query_dense.set_weights([eye(d), np.zeros((1, d))])
    mha.key_dense.set_weights([eye(d), np.zeros((1, d))])
    mha.value_dense.set_weights([eye(dv), np.zeros((1, dv))])
    mha.output_dense.set_weights([np.eye(dv)[None], np.zeros(dv)])
    out, scores = mha(q, v, key=k, attention_mask=mask, return_attention_scores=True)
    return np.asarray(out), np.asarray(scores)[:, 0]


def _random_qkv(rng, b, tq, tk, d, dv, scale):
    q = rng.normal(0, scale, (b, tq, d))
    k = rng.normal(0, scale, (b, tk, d))
    v = rng.normal(0, 1, (b, tk, dv))
    return q, k, v


def _split_result(res, case):
    if not isinstance(res, (tuple, list)) or len(res) != 2:
        raise CheckFailure(f"[{case}] your function must return a pair (output, weights), got "
                           f"{type(res).__name__}{'' if not isinstance(res, (tuple, list)) else f' of length {len(res)}'}")
    return res


def _weights_hint(weights):
    """A diagnostic for common mistakes, from the learner's weights alone (no answer computed here)."""
    w = np.asarray(weights, dtype="float64")
    sums = w.sum(-1)
    if not np.allclose(sums, 1.0, atol=1e-4):
        return (f" Hint: each row of the weights should sum to 1 over the keys (the last axis); yours sum "
                f"to between {sums.min():.3g} and {sums.max():.3g}. Is the softmax over the right axis, and is "
                "the mask applied to the scores before the softmax?")
    return (" Hint: the rows sum to 1, so check the scaling: the scores are q k^T divided by sqrt(d), "
            "where d is the last dimension of q.")


def _compare(fn, case, q, k, v, mask=None):
    args = (q.copy(), k.copy(), v.copy()) + (() if mask is None else (mask.copy(),))
    out, weights = _split_result(call_learner(fn, case, *args), case)
    exp_out, exp_w = _keras_attention(q, k, v, mask)
    try:
        err_w = assert_close(weights, exp_w, case, what="attention weights", atol=1e-6, rtol=1e-5)
    except CheckFailure as e:
        if np.shape(weights) == exp_w.shape:
            raise CheckFailure(str(e) + _weights_hint(weights)) from None
        raise
    err_o = assert_close(out, exp_out, case, what="output", atol=1e-6, rtol=1e-5)
    return max(err_w, err_o)


@in_float32
def check_scaled_dot_product_attention(fn, seed: int = 0) -> str:
    """fn(q, k, v) -> (output, weights) must equal Keras MultiHeadAttention's core on random cases."""
    rng = np.random.default_rng(seed)
    worst = 0.0
    for name, b, tq, tk, d, dv, scale in ATTENTION_CASES:
        q, k, v = _random_qkv(rng, b, tq, tk, d, dv, scale)
        case = f"{name}: " + describe_case(q=q, k=k, v=v)
        worst = max(worst, _compare(fn, case, q, k, v))
    return passed("scaled_dot_product_attention", len(ATTENTION_CASES), worst,
                  "keras.layers.MultiHeadAttention")


def _masks(rng, b, tq, tk):
    """Named masks (B, Tq, Tk), True = may attend; every query keeps at least one key."""
    lengths = rng.integers(1, tk + 1, size=b)
    lengths[0] = max(1, tk - 2)                      # at least one sequence really padded
    padding = np.arange(tk)[None, None, :] < lengths[:, None, None]
    padding = np.broadcast_to(padding, (b, tq, tk)).copy()
    causal = np.broadcast_to(np.tril(np.ones((tq, tk), bool), k=tk - tq), (b, tq, tk)).copy()
    rand = rng.random((b, tq, tk)) < 0.5
    rand[..., 0] = True
    return (("padding", padding), ("causal", causal), ("random", rand))


@in_float32
def check_masked_attention(fn, seed: int = 0) -> str:
    """fn(q, k, v, mask) -> (output, weights); mask bool (B, Tq, Tk), True where attending is allowed.

    Compared with Keras MultiHeadAttention(attention_mask=mask) on padding, causal and random masks;
    masked keys must get weight 0 and the remaining weights must still sum to 1.
    """
    rng = np.random.default_rng(seed)
    worst, n = 0.0, 0
    for name, b, tq, tk, d, dv, scale in ATTENTION_CASES[1:]:
        q, k, v = _random_qkv(rng, b, tq, tk, d, dv, scale)
        for mask_name, mask in _masks(rng, b, tq, tk):
            case = f"{name}, {mask_name} mask: " + describe_case(q=q, k=k, v=v, mask=mask)
            worst = max(worst, _compare(fn, case, q, k, v, mask))
            n += 1
    return passed("masked_attention", n, worst, "keras.layers.MultiHeadAttention")


# --------------------------------------------------------------------------- MLM masking rule

def _mlm_stats(original, masked, selected, selectable, mask_token_id):
    sel = selected & selectable
    n_sel = int(sel.sum())
    changed = masked != original
    return {"selected": n_sel / max(int(selectable.sum()), 1),
            "mask": float((sel & (masked == mask_token_id)).sum() / max(n_sel, 1)),
            "random": float((sel & changed & (masked != mask_token_id)).sum() / max(n_sel, 1)),
            "unchanged": float((sel & ~changed).sum() / max(n_sel, 1))}


def _keras_hub_mlm_stats(token_ids, mask_token_id, vocab_size, special_ids, rate, seed):
    import keras
    import keras_hub

    keras.utils.set_random_seed(seed)
    gen = keras_hub.layers.MaskedLMMaskGenerator(
        vocabulary_size=vocab_size, mask_selection_rate=rate, mask_token_id=mask_token_id,
        mask_selection_length=token_ids.shape[1], unselectable_token_ids=list(special_ids))
    out = gen(token_ids)
    masked = np.asarray(out["token_ids"])
    selected = np.zeros(token_ids.shape, bool)
    pos, w = np.asarray(out["mask_positions"]), np.asarray(out["mask_weights"]) > 0
    rows = np.repeat(np.arange(token_ids.shape[0]), pos.shape[1])
    selected[rows[w.ravel()], pos.ravel()[w.ravel()]] = True
    return selected, masked


def _mlm_batch(rng, b, t, vocab_size, cls_id, sep_id, pad_id, first_word_id):
    """[CLS] w w ... w [SEP] [PAD] ... with random lengths; words drawn from [first_word_id, vocab)."""
    ids = rng.integers(first_word_id, vocab_size, size=(b, t))
    lengths = rng.integers(t // 2, t + 1, size=b)
    for i, n in enumerate(lengths):
        ids[i, 0], ids[i, n - 1] = cls_id, sep_id
        ids[i, n:] = pad_id
    return ids.astype("int32")


@in_float32
def check_mlm_masking(fn, seed: int = 0, selection_rate: float = 0.15, tolerance: float = 0.04) -> str:
    """fn(token_ids, rng, mask_token_id, vocab_size, special_ids, selection_rate) -> (masked_ids, selected).

    Exact rules: special tokens are never selected; tokens that are not selected are unchanged; all
    randomness comes from ``rng`` (two calls with generators seeded alike give the same result).
    Statistical rules (256 x 128 tokens, compared with keras_hub's MaskedLMMaskGenerator on the same
    tokens, within ``tolerance``): the fraction of selected tokens, and among selected tokens the
    fractions turned into [MASK], into a random token and left unchanged.
    """
    vocab_size, pad_id, cls_id, sep_id, mask_id = 30522, 0, 101, 102, 103
    special = (pad_id, cls_id, sep_id)
    rng = np.random.default_rng(seed)
    ids = _mlm_batch(rng, 256, 128, vocab_size, cls_id, sep_id, pad_id, first_word_id=1000)
    case = describe_case(token_ids=ids, selection_rate=selection_rate)
    res = call_learner(fn, case, ids.copy(), np.random.default_rng(seed + 1), mask_id, vocab_size,
                       special, selection_rate)
    if not isinstance(res, (tuple, list)) or len(res) != 2:
        raise CheckFailure(f"[{case}] your function must return a pair (masked_ids, selected)")
    masked, selected = (np.asarray(r) for r in res)
    if masked.shape != ids.shape or selected.shape != ids.shape:
        raise CheckFailure(f"[{case}] masked_ids has shape {masked.shape} and selected {selected.shape}; "
                           f"both must have the shape of token_ids {ids.shape}")
    if not np.issubdtype(masked.dtype, np.integer):
        raise CheckFailure(f"[{case}] masked_ids must be integer token ids, got dtype {masked.dtype}")
    selected = selected.astype(bool)
    again = call_learner(fn, case, ids.copy(), np.random.default_rng(seed + 1), mask_id, vocab_size,
                         special, selection_rate)
    if not (np.array_equal(np.asarray(again[0]), masked) and np.array_equal(np.asarray(again[1], bool), selected)):
        raise CheckFailure(f"[{case}] two calls with generators seeded alike gave different results; draw every "
                           "random number from rng (not from np.random.*, random or TensorFlow)")
    is_special = np.isin(ids, special)
    if (selected & is_special).any():
        n = int((selected & is_special).sum())
        raise CheckFailure(f"[{case}] {n} special tokens ([CLS], [SEP] or [PAD]) were selected; "
                           "they must never be masked")
    if (masked[~selected] != ids[~selected]).any():
        n = int((masked[~selected] != ids[~selected]).sum())
        raise CheckFailure(f"[{case}] {n} tokens that are not selected were changed; only selected "
                           "tokens may change")
    if masked.min() < 0 or masked.max() >= vocab_size:
        raise CheckFailure(f"[{case}] masked_ids holds ids outside [0, vocab_size={vocab_size})")
    yours = _mlm_stats(ids, masked, selected, ~is_special, mask_id)
    ref_sel, ref_masked = _keras_hub_mlm_stats(ids, mask_id, vocab_size, special, selection_rate, seed)
    ref = _mlm_stats(ids, ref_masked, ref_sel, ~is_special, mask_id)
    worst = 0.0
    for key, what in (("selected", "fraction of ordinary tokens selected"),
                      ("mask", "fraction of selected tokens replaced by [MASK]"),
                      ("random", "fraction of selected tokens replaced by a random token"),
                      ("unchanged", "fraction of selected tokens left unchanged")):
        diff = abs(yours[key] - ref[key])
        worst = max(worst, diff)
        if diff > tolerance:
            raise CheckFailure(f"[{case}] {what}: yours {yours[key]:.3f}, keras_hub MaskedLMMaskGenerator "
                               f"{ref[key]:.3f} (difference {diff:.3f} > tolerance {tolerance})")
    randoms = masked[selected & (masked != ids) & (masked != mask_id)]
    if randoms.size >= 20 and np.unique(randoms).size < 0.5 * randoms.size:
        raise CheckFailure(f"[{case}] the {randoms.size} random replacements use only "
                           f"{np.unique(randoms).size} distinct ids; draw them uniformly from the vocabulary")
    msg = (f"✓ mlm_masking: the 4 fractions (selected, [MASK], random, unchanged) of one {ids.shape[0]} x "
           f"{ids.shape[1]} batch match keras_hub MaskedLMMaskGenerator within {tolerance} "
           f"(max difference {worst:.1e})")
    print(msg)
    return msg
