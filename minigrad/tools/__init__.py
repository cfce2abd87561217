"""What is built on the engine and the layer math: the model builder (build.py), the training
loop (train.py), loaders and datasets (data.py, datasets.py), saved models (modelfile.py) and
the classification report (metrics.py)."""
