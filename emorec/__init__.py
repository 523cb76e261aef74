"""emorec: real-time facial emotion recognition (FER2013, seven classes).

Importing the package is cheap and has no side effects: TensorFlow, Keras and Tk
are imported only by the modules that need them.
"""

__version__ = "0.3.0"
