"""course_lib: the small library behind the deep-learning course notebooks.

Modules, one concern each:
    quick       the COURSE_QUICK switch and the sizes it selects
    runtime     environment report, seeds, precision policy, tf.distribute strategy
    data        offline, checksummed Fashion-MNIST and SpamAssassin; the synthetic memory task
    training    a thin wrapper over keras fit (strategy, tf.data, callbacks)
    plots       image grids, training curves, confusion matrices, ...
    metrics     the spam classifiers' report (precision, recall, F1, hard-ham false positives)
    evaluation  generative models: Fréchet distance, class coverage, nearest neighbours
    gradcheck   numerical gradient checks against analytic and tf.GradientTape gradients
    pretrained  the offline pretrained MiniLM encoder
    models      reusable Keras models (CNN, text classifiers, memory-task RNN, GAN, tiny BERT)
    checks      exercise checkers: the learner's function against Keras/TF on random cases
    nbtools     notebook maintenance: the generated setup cell, quick-mode runs
"""
import os as _os

# Hide TensorFlow's C++ INFO/WARNING chatter (errors still show); set it yourself to override.
# Importing course_lib itself never imports TensorFlow (course_lib.bootstrap must run before anything
# imports keras); course_lib.data, the first import of every notebook's setup cell, imports it quietly.
if "TF_CPP_MIN_LOG_LEVEL" not in _os.environ:
    _os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    _os.environ["COURSE_QUIET_TF_STARTUP"] = "1"

__version__ = "0.1.0"
