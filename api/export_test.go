package api

// PasswordChecks is how many passwords s has checked, real or dummy: a sign-in with an unknown
// email must check one as a wrong password does.
func PasswordChecks(s *Server) int64 { return s.checks.Load() }
