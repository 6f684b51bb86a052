"""Moving pictures: frames through the still path's stages with a temporal stage.

modes.py (image / video / live-stream running modes), stages.py (the frame stages), temporal.py
(the temporal stage), videofile.py (video files in and out, PyAV), camera.py (cameras and files
played as one), mjpeg.py (the preview as an MJPEG stream on loopback), window.py (a preview
window), rawstream.py (raw RGB frames on stdin/stdout).
"""
