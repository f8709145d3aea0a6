import Testing
@testable import SmallMindCLI

struct FormatTests {
    @Test func ratesAndDurations() {
        #expect(Format.rate(3.14159) == "3.14")
        #expect(Format.rate(123.45) == "123.5")
        #expect(Format.seconds(0.25) == "250 ms")
        #expect(Format.seconds(2.5) == "2.50 s")
    }
}
