"""Speech: audio in, voice activity, recognition, understanding, dialogue and speech out (issue 4)."""
