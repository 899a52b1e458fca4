package ctlab.kernel; final class Placeholder {}
