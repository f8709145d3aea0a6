import Foundation

/// `strftime_now(format)`: the injected clock's time formatted like Python's `strftime` with
/// glibc (English names, `%-d` without padding). The time is read in UTC: a chat template only
/// needs the date ("Today Date: 15 Jan 2026"), and the machine's zone would make prompts differ
/// between servers. Unknown directives are copied as written, as glibc does.
enum JinjaStrftime {
    private static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    private static let months = [
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ]

    static func format(_ date: Date, _ format: String) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday, .nanosecond], from: date)
        let year = parts.year ?? 1970
        let month = parts.month ?? 1
        let day = parts.day ?? 1
        let hour = parts.hour ?? 0
        let minute = parts.minute ?? 0
        let second = parts.second ?? 0
        let weekday = (parts.weekday ?? 1) - 1  // 0 = Sunday
        let dayOfYear = calendar.ordinality(of: .day, in: .year, for: date) ?? 1
        let microsecond = (parts.nanosecond ?? 0) / 1000

        func number(_ value: Int, _ width: Int, unpadded: Bool, pad: Character = "0") -> String {
            let digits = String(value)
            if unpadded || digits.count >= width { return digits }
            return String(repeating: pad, count: width - digits.count) + digits
        }

        var output = ""
        var characters = Array(format)
        var index = 0
        characters.append("\0")  // a sentinel so lookahead needs no bounds checks
        while index < characters.count - 1 {
            let character = characters[index]
            guard character == "%" else {
                output.append(character)
                index += 1
                continue
            }
            var directive = characters[index + 1]
            var unpadded = false
            var consumed = 2
            if directive == "-", characters[index + 2] != "\0" {
                unpadded = true
                directive = characters[index + 2]
                consumed = 3
            }
            let hour12 = hour % 12 == 0 ? 12 : hour % 12
            switch directive {
            case "a": output += String(weekdays[weekday].prefix(3))
            case "A": output += weekdays[weekday]
            case "b", "h": output += String(months[month - 1].prefix(3))
            case "B": output += months[month - 1]
            case "c":
                output += "\(weekdays[weekday].prefix(3)) \(months[month - 1].prefix(3)) \(number(day, 2, unpadded: false, pad: " ")) "
                    + "\(number(hour, 2, unpadded: false)):\(number(minute, 2, unpadded: false)):\(number(second, 2, unpadded: false)) \(year)"
            case "C": output += number(year / 100, 2, unpadded: unpadded)
            case "d": output += number(day, 2, unpadded: unpadded)
            case "D": output += "\(number(month, 2, unpadded: false))/\(number(day, 2, unpadded: false))/\(number(year % 100, 2, unpadded: false))"
            case "e": output += number(day, 2, unpadded: unpadded, pad: " ")
            case "f": output += number(microsecond, 6, unpadded: unpadded)
            case "F": output += "\(year)-\(number(month, 2, unpadded: false))-\(number(day, 2, unpadded: false))"
            case "H": output += number(hour, 2, unpadded: unpadded)
            case "I": output += number(hour12, 2, unpadded: unpadded)
            case "j": output += number(dayOfYear, 3, unpadded: unpadded)
            case "k": output += number(hour, 2, unpadded: unpadded, pad: " ")
            case "l": output += number(hour12, 2, unpadded: unpadded, pad: " ")
            case "m": output += number(month, 2, unpadded: unpadded)
            case "M": output += number(minute, 2, unpadded: unpadded)
            case "n": output += "\n"
            case "p": output += hour < 12 ? "AM" : "PM"
            case "P": output += hour < 12 ? "am" : "pm"
            case "R": output += "\(number(hour, 2, unpadded: false)):\(number(minute, 2, unpadded: false))"
            case "S": output += number(second, 2, unpadded: unpadded)
            case "t": output += "\t"
            case "T": output += "\(number(hour, 2, unpadded: false)):\(number(minute, 2, unpadded: false)):\(number(second, 2, unpadded: false))"
            case "u": output += String(weekday == 0 ? 7 : weekday)
            case "U": output += number((dayOfYear - 1 + 7 - weekday) / 7, 2, unpadded: unpadded)
            case "w": output += String(weekday)
            case "W": output += number((dayOfYear - 1 + 7 - (weekday + 6) % 7) / 7, 2, unpadded: unpadded)
            case "x": output += "\(number(month, 2, unpadded: false))/\(number(day, 2, unpadded: false))/\(number(year % 100, 2, unpadded: false))"
            case "X": output += "\(number(hour, 2, unpadded: false)):\(number(minute, 2, unpadded: false)):\(number(second, 2, unpadded: false))"
            case "y": output += number(year % 100, 2, unpadded: unpadded)
            case "Y": output += String(year)
            case "z", "Z": break  // Python's naive datetime has no zone: both print nothing
            case "%": output += "%"
            default:
                output.append(contentsOf: characters[index..<(index + consumed)].filter { $0 != "\0" })
            }
            index += consumed
        }
        return output
    }
}
