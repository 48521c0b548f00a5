"""Camera sources, face detection and tracking, visitor-approaching events (issue 5)."""
