"""course_lib: the small library behind the deep-learning course notebooks.

Modules, one concern each:
    quick     the COURSE_QUICK switch and the sizes it selects
    runtime   environment report, seeds, precision policy, tf.distribute strategy
    data      offline, checksummed Fashion-MNIST and SpamAssassin
    training  a thin wrapper over keras fit (strategy, tf.data, callbacks)
    plots     image grids, training curves, confusion matrices, ...
    models    reusable Keras models (CNN, text classifiers, GAN, tiny BERT)
    checks    exercise checkers: the learner's function against Keras/TF on random cases
"""
import os as _os

# Hide TensorFlow's C++ INFO/WARNING start-up chatter (errors still show); set it yourself to override.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
