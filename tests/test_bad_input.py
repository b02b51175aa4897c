"""Bad input to course_lib's public functions: a clear error naming the argument, never a wrong answer.

First the cases that used to return a wrong answer silently (each test fails on the code before the
fix), then a table of refusals (one row per bad input: the call, the error type, the message), then
checks that valid input of the kinds the lessons pass still gives the same results as before.
"""
import json

import numpy as np
import pytest
import tensorflow as tf
import keras

from course_lib import data, evaluation, gradcheck, metrics, plots, training
from course_lib.models import bert, cnn, gan, text

NAN = float("nan")


def dense_model():
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])


def batches(x, y, batch_size=4):
    return tf.data.Dataset.from_tensor_slices((np.asarray(x, "float32"), y)).batch(batch_size)


def finite_xy(n=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 2)).astype("float32"), (rng.random(n) > 0.5).astype("int32")


def tiny_features(n=4, t=5):
    ids = np.full((n, t), 7, "int32")
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones((n, t), bool)}


def tiny_backbone(max_sequence_length=8):
    return bert.build_tiny_bert(50, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16,
                                max_sequence_length=max_sequence_length)


# --------------------------------------------------------------------------- silent wrong results

def test_confusion_matrix_refuses_negative_labels_and_fractional_predictions():
    with pytest.raises(ValueError, match=r"y_true must be class indices >= 0, got -1"):
        plots.confusion_matrix([0, -1], [0, 1], ["a", "b"])          # used to count -1 as class "b"
    with pytest.raises(ValueError, match=r"y_pred must be integer class indices, got the value .*0\.7.*argmax"):
        plots.confusion_matrix([0, 1], [0.7, 1.2], ["a", "b"])      # used to truncate to [0, 1]
    with pytest.raises(ValueError, match=r"y_true must hold one class index per example.*\(2, 2\).*one-hot"):
        plots.confusion_matrix(np.eye(2), np.eye(2), ["a", "b"])    # used to count 4 items


def test_spam_report_refuses_one_hot_rows_and_unknown_group_names():
    y = np.array([0, 1, 1, 0])
    with pytest.raises(ValueError, match=r"y_true must hold one class index per example.*\(4, 2\)"):
        metrics.spam_report(np.eye(2)[y], np.eye(2)[y])             # used to report n = 8
    with pytest.raises(ValueError, match=r"groups must hold only the names \('easy_ham', 'hard_ham', 'spam'\), got \['hardham'\]"):
        metrics.spam_report(y, y, ["hardham"] * 4)                   # used to give hard_ham_fpr = nan


def test_fit_refuses_nan_inputs_and_names_the_batch():
    x, y = finite_xy()
    x[5, 1] = NAN                                                     # batch 2 of 4
    with pytest.raises(ValueError, match=r"train contains NaN or inf \(batch 2, inputs\), so the loss became nan"):
        training.fit(dense_model, batches(x, y), verbose=0)          # used to return loss [nan]


def test_fit_refuses_nan_validation_data_and_nan_labels():
    x, y = finite_xy()
    xv = x.copy()
    xv[0, 0] = np.inf
    with pytest.raises(ValueError, match=r"validation contains NaN or inf \(batch 1, inputs\)"):
        training.fit(dense_model, batches(x, y), batches(xv, y), verbose=0)
    labels = y.astype("float32")
    labels[3] = NAN        # cast to int by the sparse loss: Keras' own error names no NaN
    with pytest.raises(ValueError, match=r"train contains NaN or inf \(batch 1, targets\)"):
        training.fit(dense_model, batches(x, labels), verbose=0)


def test_fit_reports_a_divergence_on_finite_data():
    x, _ = finite_xy()
    y = (100 * x[:, :1]).astype("float32")

    def exploding():
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(keras.optimizers.SGD(1e3), "mse")
        return model
    with pytest.raises(FloatingPointError, match=r"the loss became (nan|inf) at batch \d+ of epoch \d+.*diverged"):
        training.fit(exploding, batches(x, y), epochs=20, verbose=0)


def test_gan_fit_refuses_nan_images():
    keras.utils.set_random_seed(0)
    model = gan.build_gan(latent_dim=4, g_filters=4, d_filters=4)
    images = np.zeros((8, 28, 28, 1), "float32")
    images[3, 10, 10, 0] = NAN
    with pytest.raises(ValueError, match=r"train contains NaN or inf \(batch 1, inputs\), so the d_loss became nan"):
        model.fit(tf.data.Dataset.from_tensor_slices(images).batch(8), epochs=1, verbose=0)


def test_relative_error_refuses_nan_instead_of_returning_it():
    with pytest.raises(ValueError, match=r"analytic contains NaN or inf"):
        gradcheck.relative_error([NAN, 1.0], [1.0, 1.0])              # used to return nan
    with pytest.raises(ValueError, match=r"numeric contains NaN or inf"):
        gradcheck.relative_error([1.0, 1.0], [1.0, np.inf])


def test_gradient_checks_refuse_a_function_that_returns_nan():
    with pytest.raises(ValueError, match="f returned NaN or inf"):
        gradcheck.numerical_gradient(lambda v: np.sum(v) + NAN, np.ones(3))    # used to return NaNs
    with pytest.raises(ValueError, match="f returned NaN or inf"):
        gradcheck.check_numpy(lambda x: np.sum(x) + NAN, {"x": np.ones(3)}, {"x": np.ones(3)})
    with pytest.raises(ValueError, match="x contains NaN or inf"):
        gradcheck.check_keras(keras.layers.Dense(2), np.full((2, 3), NAN))


def test_gaussian_frechet_distance_refuses_nan_and_non_psd_covariances():
    with pytest.raises(ValueError, match="mu1 contains NaN or inf"):
        evaluation.gaussian_frechet_distance([NAN], [[1.0]], [0.0], [[1.0]])        # used to return nan
    with pytest.raises(ValueError, match=r"cov1 must be positive semi-definite .* eigenvalue -5"):
        evaluation.gaussian_frechet_distance([0, 0], [[1, 0], [0, -5]], [0, 0], np.eye(2))   # used: 0.0
    with pytest.raises(ValueError, match="cov2 contains NaN or inf"):
        evaluation.gaussian_frechet_distance([0.0], [[1.0]], [0.0], [[NAN]])        # said "not symmetric"


def test_nearest_neighbours_refuses_nan_queries_and_references():
    with pytest.raises(ValueError, match="queries contains NaN or inf"):
        evaluation.nearest_neighbours(np.array([[NAN, 0.0]]), np.zeros((3, 2)))     # used: distance nan
    with pytest.raises(ValueError, match="references contains NaN or inf"):
        evaluation.nearest_neighbours(np.zeros((1, 2)), np.array([[NAN, 0.0], [1.0, 1.0]]))


def test_build_gan_refuses_beta_1_outside_0_1():
    for beta_1 in (1.5, -0.1, 1.0, NAN, "0.5"):
        with pytest.raises(ValueError, match=r"beta_1 must be a number in \[0, 1\)"):
            gan.build_gan(latent_dim=4, g_filters=4, d_filters=4, beta_1=beta_1)


def test_other_silent_cases_found_by_trying_bad_input():
    with pytest.raises(ValueError, match=r"x must hold uint8 pixel values 0..255, got dtype float32 \(already converted"):
        data.images_to_float(np.full((1, 2, 2), 0.5, "float32"))     # used to divide by 255 again
    with pytest.raises(ValueError, match="labels must be integer class indices, got the value"):
        bert.classifier_dataset(tiny_features(), np.array([0, 1, 0.5, 1]))           # used to truncate 0.5
    with pytest.raises(ValueError, match="labels must be integer class indices"):
        plots.image_grid(np.zeros((2, 4, 4)), [0.5, 1.0], ["a", "b"])              # used to show "a"
    with pytest.raises(ValueError, match=r"metrics \['acc'\] are not in the history"):
        plots.history({"loss": [1.0], "accuracy": [0.5]}, metrics=("loss", "acc"))  # used to drop "acc"
    m = training.default_compile(dense_model())
    one_hot = tf.data.Dataset.from_tensor_slices((np.zeros((4, 2), "float32"), np.eye(2, dtype="float32")[[0, 1, 0, 1]]))
    with pytest.raises(ValueError, match=r"dataset's targets have shape \(None, 2\) \(one-hot\?\)"):
        training.predict_classes(m, one_hot.batch(2))                # used to return one-hot y_true
    with pytest.raises(ValueError, match="train is empty: it yields no batches"):
        training.fit(dense_model, batches(*finite_xy()).take(0), verbose=0)  # used to "train" on nothing
    with pytest.raises(ValueError, match=r"the generator makes images of shape \(28, 28, 1\) but the discriminator takes \(32, 32, 1\)"):
        gan.GAN(gan.build_generator(4, 4), gan.build_discriminator(4, input_shape=(32, 32, 1)))
    for flag_call in (lambda: cnn.build_cnn(batchnorm="no"),
                      lambda: plots.confusion_matrix([0, 1], [0, 1], ["a", "b"], normalize="no"),
                      lambda: data.fashion_mnist_dataset("test", subset=20, shuffle="no")):
        with pytest.raises(ValueError, match="must be True or False, got 'no'"):   # "no" used to mean True
            flag_call()


def test_frechet_distance_of_one_feature_matches_the_1d_closed_form():
    # D = 1 used to fail inside (np.cov returns a 0-d array); 1-D closed form: (m1 - m2)^2 + (s1 - s2)^2
    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 2.0, size=(400, 1)), rng.normal(-1.0, 0.5, size=(300, 1))
    m1, m2, s1, s2 = a.mean(), b.mean(), a.std(ddof=1), b.std(ddof=1)
    assert evaluation.frechet_distance(a, b) == pytest.approx((m1 - m2) ** 2 + (s1 - s2) ** 2, rel=1e-10)


# --------------------------------------------------------------------------- the table of refusals

V = ValueError
T = TypeError
VEC = None   # a small adapted TextVectorization, built on first use


def vectorizer():
    global VEC
    if VEC is None:
        VEC = text.build_text_vectorizer(["a b c", "d e f"], max_tokens=10, sequence_length=4)
    return VEC


x2, y2 = finite_xy(8)
DS = batches(x2, y2)
UNBATCHED = tf.data.Dataset.from_tensor_slices((x2, y2))
UNLABELLED = tf.data.Dataset.from_tensor_slices(x2).batch(4)
ONE_HOT = tf.data.Dataset.from_tensor_slices((x2, np.eye(2, dtype="float32")[y2])).batch(4)
F = tiny_features()

REFUSALS = [
    # plots
    ("image_grid: 0 images", lambda: plots.image_grid(np.zeros((0, 4, 4))), V, "images is empty"),
    ("image_grid: too few labels", lambda: plots.image_grid(np.zeros((3, 4, 4)), [0, 1]), V,
     r"labels must have one entry per image \(3\), got 2"),
    ("image_grid: label beyond class_names", lambda: plots.image_grid(np.zeros((2, 4, 4)), [0, 5], ["a", "b"]), V,
     r"labels must be class indices in \[0, 2\), got 5"),
    ("image_grid: class_names a str", lambda: plots.image_grid(np.zeros((2, 4, 4)), [0, 1], "ab"), V,
     "class_names must be a non-empty list of str"),
    ("image_grid: NaN image", lambda: plots.image_grid(np.full((2, 4, 4), NAN)), V, "images contains NaN"),
    ("image_grid: strings", lambda: plots.image_grid(np.array([[["a"]]])), V, "images must be a numeric array"),
    ("image_grid: 2 channels", lambda: plots.image_grid(np.zeros((2, 4, 4, 2))), V, "images must have 1 or 3 channels"),
    ("image_grid: size str", lambda: plots.image_grid(np.zeros((2, 4, 4)), size="1"), V, "size must be a positive number"),
    ("image_grid: ncols float", lambda: plots.image_grid(np.zeros((2, 4, 4)), ncols=2.0), V, "ncols must be a positive int"),
    ("image_grid: vmin str", lambda: plots.image_grid(np.zeros((2, 4, 4)), vmin="0"), V, "vmin must be a finite number"),
    ("image_grid: vmax NaN", lambda: plots.image_grid(np.zeros((2, 4, 4)), vmax=NAN), V, "vmax must be a finite number"),
    ("image_grid: vmin >= vmax", lambda: plots.image_grid(np.zeros((2, 4, 4)), vmin=1, vmax=1), V,
     "vmin must be below vmax, got vmin=1.0, vmax=1.0"),
    ("history: metrics a str", lambda: plots.history({"loss": [1.0], "accuracy": [1.0]}, metrics="accuracy"), V,
     r"metrics must be a list or tuple of metric names, e.g. \('accuracy',\)"),
    ("history: empty series", lambda: plots.history({"loss": []}), V, "'loss' is empty: no epoch was recorded"),
    ("history: a str", lambda: plots.history("hist"), T, "hist must be a keras History or a dict"),
    ("confusion_matrix: label >= K", lambda: plots.confusion_matrix([0, 2], [0, 1], ["a", "b"]), V,
     r"y_true must be class indices in \[0, 2\), got 2"),
    ("confusion_matrix: NaN", lambda: plots.confusion_matrix([0, NAN], [0, 1], ["a", "b"]), V, "y_true contains NaN"),
    ("confusion_matrix: strings", lambda: plots.confusion_matrix(["a", "b"], ["a", "b"], ["a", "b"]), V,
     "y_true must be a numeric array"),
    ("confusion_matrix: class_names an int", lambda: plots.confusion_matrix([0, 1], [0, 1], 2), V,
     "class_names must be a non-empty list of str"),
    ("confusion_matrix: empty", lambda: plots.confusion_matrix([], [], ["a", "b"]), V, "y_true is empty"),
    ("filters: NaN", lambda: plots.filters(np.full((3, 3, 1, 2), NAN)), V, "weights contains NaN"),
    ("feature_maps: batch of 2", lambda: plots.feature_maps(np.zeros((2, 3, 3, 4))), V, r"maps must have shape \(H, W, C\)"),
    # metrics
    ("spam_report: probabilities", lambda: metrics.spam_report([0, 1], [0.1, 0.9]), V, "y_pred must be integer class indices"),
    ("spam_report: NaN", lambda: metrics.spam_report([0, 1], [0, NAN]), V, "y_pred contains NaN"),
    ("spam_report: labels 2", lambda: metrics.spam_report([0, 2], [0, 1]), V, r"y_true must contain only 0 \(ham\) and 1 \(spam\)"),
    ("spam_report: int groups", lambda: metrics.spam_report([0, 1], [0, 1], [0, 1]), V, "groups must hold only the names"),
    ("spam_report: groups length", lambda: metrics.spam_report([0, 1], [0, 1], ["spam"]), V,
     r"groups must have one entry per example \(2\)"),
    # training
    ("fit: unbatched", lambda: training.fit(dense_model, UNBATCHED, verbose=0), V, r"train looks unbatched: call train.batch"),
    ("fit: one-hot labels, sparse loss", lambda: training.fit(dense_model, ONE_HOT, verbose=0), V,
     r"train's targets have shape \(None, 2\) \(one-hot\?\), but the loss is sparse categorical cross-entropy"),
    ("fit: no targets", lambda: training.fit(dense_model, UNLABELLED, verbose=0), V, r"train must yield \(inputs, targets\) batches"),
    ("fit: numpy arrays", lambda: training.fit(dense_model, x2), T, "train must be a tf.data.Dataset.*from_tensor_slices"),
    ("fit: learning_rate str", lambda: training.fit(dense_model, DS, learning_rate="1e-3"), V, "learning_rate must be a positive number"),
    ("fit: learning_rate < 0", lambda: training.fit(dense_model, DS, learning_rate=-1.0), V, "learning_rate must be a positive number"),
    ("fit: callbacks not a list", lambda: training.fit(dense_model, DS, callbacks=keras.callbacks.History()), T,
     "callbacks must be a list of keras.callbacks.Callback"),
    ("fit: epochs float", lambda: training.fit(dense_model, DS, epochs=2.0), V, "epochs must be a positive int, got 2.0"),
    ("default_compile: not a model", lambda: training.default_compile("model"), T, "model must be a keras.Model, got str"),
    ("build_optimizer: not a model", lambda: training.build_optimizer([1]), T, "model must be a keras.Model, got list"),
    ("build_optimizer: not compiled", lambda: training.build_optimizer(dense_model()), V, "model must be compiled first"),
    ("default_compile: learning_rate 0", lambda: training.default_compile(dense_model(), 0), V, "learning_rate must be a positive number"),
    ("build_in_scope: learning_rate NaN", lambda: training.build_in_scope(dense_model, learning_rate=NAN), V,
     "learning_rate must be a positive number"),
    ("predict_classes: numpy", lambda: training.predict_classes(training.default_compile(dense_model()), x2), T,
     "dataset must be a tf.data.Dataset"),
    ("predict_classes: unlabelled", lambda: training.predict_classes(training.default_compile(dense_model()), UNLABELLED), V,
     r"dataset must yield \(inputs, targets\) batches"),
    ("predict_classes: empty", lambda: training.predict_classes(training.default_compile(dense_model()), DS.take(0)), V,
     "dataset is empty"),
    ("predict_classes: unbatched", lambda: training.predict_classes(training.default_compile(dense_model()), UNBATCHED), V,
     "dataset looks unbatched"),
    ("predict_classes: not a model", lambda: training.predict_classes("model", DS), T, "model must be a keras.Model"),
    ("custom_loop_fit: epochs 0", lambda: training.custom_loop_fit(training.default_compile(dense_model()), DS, 0,
                                                                    tf.distribute.get_strategy()), V, "epochs must be a positive int"),
    ("fit: strategy a str", lambda: training.fit(dense_model, DS, strategy="gpu"), T, "strategy must be a tf.distribute.Strategy"),
    ("custom_loop_fit: strategy a str", lambda: training.custom_loop_fit(training.default_compile(dense_model()), DS, 1, "gpu"), T,
     "strategy must be a tf.distribute.Strategy"),
    ("LearningRateEveryStep: schedule gives NaN",
     lambda: training.fit(training.default_compile(dense_model()), DS, callbacks=[training.LearningRateEveryStep(lambda s: NAN)], verbose=0),
     V, r"schedule\(0\) must return a learning rate >= 0, got nan"),
    # gradcheck
    ("relative_error: strings", lambda: gradcheck.relative_error(["a"], ["b"]), V, "analytic must be a numeric array"),
    ("numerical_gradient: eps inf", lambda: gradcheck.numerical_gradient(np.sum, np.ones(3), eps=np.inf), V,
     "eps must be a positive number, got inf"),
    ("numerical_gradient: max_entries str", lambda: gradcheck.numerical_gradient(np.sum, np.ones(3), max_entries="2"), V,
     "max_entries must be a positive int or None"),
    ("numerical_gradient: seed str", lambda: gradcheck.numerical_gradient(np.sum, np.ones(3), seed="a"), V,
     "seed must be an int >= 0"),
    ("check_keras: training str", lambda: gradcheck.check_keras(keras.layers.Dense(2), np.ones((2, 3)), training="yes"), V,
     "training must be True or False"),
    # evaluation
    ("gaussian_frechet_distance: inf", lambda: evaluation.gaussian_frechet_distance([np.inf], [[1.0]], [0.0], [[1.0]]), V,
     "mu1 contains NaN or inf"),
    ("gaussian_frechet_distance: strings", lambda: evaluation.gaussian_frechet_distance(["a"], [[1.0]], [0.0], [[1.0]]), V,
     "mu1 must be a numeric array"),
    ("gaussian_frechet_distance: D = 0", lambda: evaluation.gaussian_frechet_distance([], np.zeros((0, 0)), [], np.zeros((0, 0))), V,
     r"mu1 and mu2 must both have shape \(D,\), D >= 1"),
    ("nearest_neighbours: 0 queries", lambda: evaluation.nearest_neighbours(np.zeros((0, 2)), np.zeros((3, 2))), V,
     "queries is empty"),
    ("nearest_neighbours: strings", lambda: evaluation.nearest_neighbours(np.array([["a", "b"]]), np.zeros((3, 2))), V,
     "queries must be a numeric array"),
    ("nearest_neighbours: chunk 0", lambda: evaluation.nearest_neighbours(np.zeros((1, 2)), np.zeros((3, 2)), chunk=0), V,
     "chunk must be a positive int"),
    # data
    ("images_to_float: pixels > 255", lambda: data.images_to_float(np.full((1, 2, 2), 300)), V, r"0..255, got the range \[300, 300\]"),
    ("load_fashion_mnist: seed str", lambda: data.load_fashion_mnist("test", subset=10, seed="0"), V, "seed must be an int >= 0"),
    ("load_spam: split a list", lambda: data.load_spam(["train"]), V, "split must be one of"),
    ("stratified_indices: empty labels", lambda: data.stratified_indices(np.array([]), 1), V, "labels must be a non-empty 1-D array"),
    ("fashion_mnist_dataset: repeat str", lambda: data.fashion_mnist_dataset("test", subset=20, repeat="yes"), V,
     "repeat must be True or False"),
    ("spam_dataset: shuffle int", lambda: data.spam_dataset("test", subset=20, shuffle=1), V, "shuffle must be True or False"),
    # models.cnn
    ("build_cnn: dropout str", lambda: cnn.build_cnn(dropout="0.25"), V, r"dropout must be a number in \[0, 1\), got '0.25'"),
    ("build_cnn: input too small for pooling", lambda: cnn.build_cnn(input_shape=(3, 3, 1)), V,
     r"input_shape \(3, 3, 1\) is too small for 2 blocks of 2x2 maxpool: height and width must be >= 4"),
    ("build_cnn: input_shape with floats", lambda: cnn.build_cnn(input_shape=(28.0, 28, 1)), V,
     r"input_shape must be \(height, width, channels\), three positive ints"),
    ("build_cnn: input_shape with None", lambda: cnn.build_cnn(input_shape=(None, None, 1)), V, "three positive ints"),
    ("build_cnn: filters an int", lambda: cnn.build_cnn(filters=32), V, "filters must be a non-empty sequence of positive ints"),
    ("build_cnn: filters bool", lambda: cnn.build_cnn(filters=(True,)), V, "filters must be a non-empty sequence"),
    ("build_cnn: bn_momentum str", lambda: cnn.build_cnn(bn_momentum="0.9"), V, r"bn_momentum must be a number in \[0, 1\)"),
    # models.text
    ("build_rnn_classifier: dropout str", lambda: text.build_rnn_classifier(vectorizer(), dropout="0.2"), V,
     r"dropout must be a number in \[0, 1\)"),
    ("build_rnn_classifier: bidirectional str", lambda: text.build_rnn_classifier(vectorizer(), bidirectional="yes"), V,
     "bidirectional must be True or False"),
    ("build_text_vectorizer: bytes", lambda: text.build_text_vectorizer([b"a b"]), V, "texts must contain only str; item 0 is bytes"),
    # models.gan
    ("build_gan: learning rate inf", lambda: gan.build_gan(d_learning_rate=np.inf), V, "d_learning_rate must be a positive number"),
    ("build_discriminator: input_shape str", lambda: gan.build_discriminator(input_shape="abc"), V, "input_shape must be"),
    ("to_unit: NaN", lambda: gan.to_unit([NAN]), V, "images contains NaN"),
    ("to_unit: strings", lambda: gan.to_unit("abc"), V, "images must be a numeric array"),
    ("SampleGrid: NaN noise", lambda: gan.SampleGrid(np.full((2, 8), NAN)), V, "noise contains NaN"),
    ("SampleGrid: 0 rows", lambda: gan.SampleGrid(np.zeros((0, 8))), V, r"noise must have at least 1 row"),
    ("SampleGrid.plot: max_samples 0", lambda: gan.SampleGrid(np.zeros((2, 8))).plot(max_samples=0), V,
     "max_samples must be a positive int"),
    # models.bert
    ("build_classifier: a str backbone", lambda: bert.build_classifier("bert"), T, "backbone must be a keras_hub BertBackbone"),
    ("build_classifier: dropout str", lambda: bert.build_classifier(tiny_backbone(), dropout="0.1"), V, r"dropout must be a number in \[0, 1\)"),
    ("build_tiny_bert: dropout str", lambda: bert.build_tiny_bert(50, dropout="0.1"), V, r"dropout must be a number in \[0, 1\)"),
    ("encode_texts: ints", lambda: bert.encode_texts(lambda t: t, [1, 2]), V, "texts must contain only str; item 0 is int"),
    ("encode_texts: None among texts", lambda: bert.encode_texts(lambda t: t, ["a", None]), V, "item 1 is NoneType"),
    ("encode_texts: preprocessor a str", lambda: bert.encode_texts("bert", ["a"]), T, "preprocessor must be a keras_hub preprocessor"),
    ("encode_head_tail: tokenizer a str", lambda: bert.encode_head_tail("tok", ["a"]), T, "tokenizer must be a tokenizer"),
    ("compact_vocabulary: special_ids a str", lambda: bert.compact_vocabulary(np.array([5, 6]), 10, 20, special_ids="ab"), V,
     "special_ids must be an int >= 0, got 'a'"),
    ("warmup_linear_decay: peak inf", lambda: bert.warmup_linear_decay(np.inf, 1, 10), V, "peak must be a positive number"),
    ("classifier_dataset: NaN labels", lambda: bert.classifier_dataset(F, np.array([0, 1, NAN, 1])), V, "labels contains NaN"),
    ("classifier_dataset: str labels", lambda: bert.classifier_dataset(F, np.array(list("abcd"))), V, "labels must be a numeric array"),
    ("classifier_dataset: float token ids", lambda: bert.classifier_dataset({**F, "token_ids": np.full((4, 5), 0.5)}, np.zeros(4, int)), V,
     r"features\['token_ids'\] must hold integer ids, got dtype float64"),
    ("pretrain_mlm: a str backbone", lambda: bert.pretrain_mlm("bb", F, 3, [0], 5), T, "backbone must be a keras_hub BertBackbone"),
    ("pretrain_mlm: mask_token_id str", lambda: bert.pretrain_mlm(tiny_backbone(), F, "x", [0], 5), V, "mask_token_id must be an int >= 0"),
    ("pretrain_mlm: mask_selection_rate str", lambda: bert.pretrain_mlm(tiny_backbone(), F, 3, [0], 5, mask_selection_rate="0.15"), V,
     r"mask_selection_rate must be a number in \(0, 1\)"),
    ("pretrain_mlm: T > max_sequence_length", lambda: bert.pretrain_mlm(tiny_backbone(4), F, 3, [0], 2), V,
     r"features have sequence length 5, but the backbone has only 4 positions"),
    ("attention_scores: a str backbone", lambda: bert.attention_scores("bb", F), T, "backbone must be a keras_hub BertBackbone"),
    ("mlm_dataset: mask_generator a str", lambda: bert.mlm_dataset(F, "gen", batch_size=2), T,
     "mask_generator must be a keras_hub MaskedLMMaskGenerator"),
]


@pytest.mark.parametrize("call, error, match", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refuses_bad_input_with_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --------------------------------------------------------------------------- valid input, as before

def test_valid_inputs_of_the_kinds_the_lessons_pass_still_work():
    _, counts = plots.confusion_matrix(np.array([0, 1, 1], "uint8"), np.array([0.0, 1.0, 0.0]), ("a", "b"))
    assert counts.tolist() == [[1, 0], [1, 1]]                       # whole-number floats are class indices
    report = metrics.spam_report(np.array([[0], [1], [1], [0]]), np.array([0, 1, 0, 0]),
                                 np.array(["easy_ham", "spam", "spam", "hard_ham"]))
    assert report["n"] == 4 and report["spam_recall"] == 0.5 and report["hard_ham_fpr"] == 0.0
    assert np.isnan(metrics.spam_report([0, 1], [0, 1])["hard_ham_fpr"])   # no groups: documented NaN
    fig = plots.image_grid(np.zeros((3, 4, 4, 1)), ["x", "y", "z"])
    assert len(fig.axes) == 3
    fig = plots.image_grid(np.zeros((2, 4, 4)), np.array([1, 0], "uint8"), data.FASHION_CLASSES)
    assert [ax.get_title() for ax in fig.axes] == ["Trouser", "T-shirt/top"]
    assert len(plots.history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}).axes) == 1
    with pytest.warns(UserWarning, match=r"loss is NaN or inf at epoch\(s\) \[2\]"):
        plots.history({"loss": [1.0, NAN]})                          # drawn, with a warning
    assert data.images_to_float(np.array([[[0, 255]]], "int64")).tolist() == [[[[0.0], [1.0]]]]
    idx, dist = evaluation.nearest_neighbours(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0], [1.0, 0.0]]), k=2)
    assert idx.tolist() == [[1, 0]] and dist.tolist() == [[1.0, 5.0]]
    y_true, y_pred = training.predict_classes(training.default_compile(dense_model()),
                                              tf.data.Dataset.from_tensor_slices((x2, y2[:, None])).batch(4))
    assert y_true.tolist() == y2.tolist() and y_pred.shape == (8,)   # labels (b, 1) come back as (N,)
    model = training.default_compile(dense_model(), bert.warmup_linear_decay(1e-3, 1, 10))  # a schedule is fine
    assert model.compiled


# --------------------------------------------------------------------------- data and model files

def test_data_errors_name_course_data_dir_and_never_suggest_git_lfs(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere"
    monkeypatch.setenv("COURSE_DATA_DIR", str(missing))
    with pytest.raises(data.DataFileError) as err:
        data.load_fashion_mnist("test")
    message = str(err.value)
    assert "t10k-images-idx3-ubyte.gz is missing" in message and "git checkout -- data/fashion-mnist" in message
    assert f"COURSE_DATA_DIR='{missing}', a folder that does not exist" in message and "unset it" in message
    assert "lfs" not in message.lower()                                 # the repository uses no Git LFS
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))               # exists, but holds no data
    with pytest.raises(data.DataFileError, match=r"spamassassin.jsonl.gz is missing.*COURSE_DATA_DIR='.*'"):
        data.load_spam("test")


def test_data_errors_without_course_data_dir_do_not_mention_it(monkeypatch):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    with pytest.raises(ValueError) as err:
        data.data_file("nope.bin")
    assert "COURSE_DATA_DIR" not in str(err.value)
    assert data._data_dir_note() == ""


def test_hf_bert_config_check_accepts_minilm_and_names_what_is_wrong(tmp_path):
    from course_lib import pretrained

    config = bert.check_hf_bert_config(pretrained.minilm_dir() / "config.json")
    assert (config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]) == (384, 6, 30522)
    path = tmp_path / "config.json"
    fix = "reinstall the model"
    for text, match in [
        ('{"model_type": "bert", "hidden_size": 384,', r"config.json is not valid JSON \(line 1, column \d+: .*\); reinstall the model"),
        ('["bert"]', r"must be a BERT config .*got 'list'"),
        ('{"model_type": "gpt2"}', r"must be a BERT config .*got 'gpt2'"),
        (json.dumps({**config, "hidden_size": "384"}), r"must give hidden_size as positive ints"),
        (json.dumps({k: v for k, v in config.items() if k != "vocab_size"}), r"must give vocab_size as positive ints, got \{'vocab_size': None\}"),
        (json.dumps({**config, "num_attention_heads": 7}), r"hidden_size \(384\) must be divisible by num_attention_heads \(7\)"),
    ]:
        path.write_text(text)
        with pytest.raises(ValueError, match=match):
            bert.check_hf_bert_config(path, fix=fix)
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="config.json cannot be read"):
        bert.check_hf_bert_config(path, fix=fix)
