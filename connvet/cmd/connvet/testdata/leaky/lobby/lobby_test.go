package lobby

import "testing"

func TestOpen(t *testing.T) {
	var l Lobby
	l.Open()
}
