"""doithoai: policy dialogues between a ward or commune and its people, over chat."""
