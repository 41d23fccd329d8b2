"""Editorial work from a storyboard or a run: timelines for editors, the animatic."""
