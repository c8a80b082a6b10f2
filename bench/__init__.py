"""Side-by-side benchmarks of skkeras_prep against raw Keras, scikeras, keras.wrappers and
scikit-learn's MLPClassifier. Entry point: ``python -m bench.run --quick`` (or no flag for the
full sizes); see bench/README.md for the latest table and the command that produced it."""
