#!/usr/bin/env bats
CHAPTER=01-blocking
load test_helper

@test "lesson: every command in the chapter 1 README runs and prints what it says" {
    run_lesson
}
