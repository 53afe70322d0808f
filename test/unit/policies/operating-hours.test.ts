import { expect } from 'chai';
import { isOpen, localDateOf, nextOpening, OperatingHours, validateOperatingHours, Weekday } from '../../../src/domain/policies';

const at = (iso: string): number => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`bad test instant ${iso}`);
  return ms;
};
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const WEEKDAYS: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri'];
const officeHours = (timeZone: string, closedDates?: string[]): OperatingHours => ({
  timeZone,
  weekly: WEEKDAYS.map((day) => ({ day, open: '09:00', close: '17:00' })),
  closedDates,
});

describe('policies/operating-hours', () => {
  describe('plain office hours', () => {
    const paris = officeHours('Europe/Paris');

    it('opens at the local opening time, closes at the (exclusive) closing time, winter and summer offsets', () => {
      // Monday 2024-01-15, CET (UTC+1).
      expect(isOpen(paris, at('2024-01-15T07:59:59.999Z'))).to.equal(false);
      expect(isOpen(paris, at('2024-01-15T08:00:00Z'))).to.equal(true);
      expect(isOpen(paris, at('2024-01-15T15:59:59.999Z'))).to.equal(true);
      expect(isOpen(paris, at('2024-01-15T16:00:00Z'))).to.equal(false);
      // Monday 2024-07-15, CEST (UTC+2).
      expect(isOpen(paris, at('2024-07-15T06:59:59Z'))).to.equal(false);
      expect(isOpen(paris, at('2024-07-15T07:00:00Z'))).to.equal(true);
      expect(isOpen(paris, at('2024-07-15T15:00:00Z'))).to.equal(false);
    });

    it('uses the local weekday, not the UTC one', () => {
      const anyTime: OperatingHours = { timeZone: 'Pacific/Auckland', weekly: [{ day: 'sat', open: '00:00', close: '24:00' }] };
      // Friday 2024-01-19 12:00 UTC = Saturday 01:00 in Auckland (UTC+13).
      expect(isOpen(anyTime, at('2024-01-19T12:00:00Z'))).to.equal(true);
      expect(isOpen(anyTime, at('2024-01-19T10:59:59Z'))).to.equal(false);
      // Friday 23:30 UTC is already Saturday 00:30 in Paris, and Paris is closed on Saturdays.
      expect(isOpen({ ...paris, weekly: [{ day: 'fri', open: '00:00', close: '24:00' }] }, at('2024-01-19T23:30:00Z'))).to.equal(false);
      expect(isOpen({ ...paris, weekly: [{ day: 'fri', open: '00:00', close: '24:00' }] }, at('2024-01-19T22:59:59Z'))).to.equal(true);
    });

    it('nextOpening: now when open, else the next local opening, skipping the weekend', () => {
      expect(nextOpening(paris, at('2024-01-15T10:00:00Z'))).to.equal(at('2024-01-15T10:00:00Z'));
      expect(iso(nextOpening(paris, at('2024-01-15T05:00:00Z')))).to.equal('2024-01-15T08:00:00.000Z');
      expect(iso(nextOpening(paris, at('2024-01-15T16:00:00Z')))).to.equal('2024-01-16T08:00:00.000Z');
      // Friday evening -> Monday 09:00.
      expect(iso(nextOpening(paris, at('2024-01-19T17:00:00Z')))).to.equal('2024-01-22T08:00:00.000Z');
    });

    it('handles half-hour offsets (Asia/Kolkata, UTC+5:30)', () => {
      const kolkata = officeHours('Asia/Kolkata');
      expect(iso(nextOpening(kolkata, at('2024-01-15T00:00:00Z')))).to.equal('2024-01-15T03:30:00.000Z');
      expect(isOpen(kolkata, at('2024-01-15T11:29:00Z'))).to.equal(true);
      expect(isOpen(kolkata, at('2024-01-15T11:30:00Z'))).to.equal(false);
    });

    it('no hours configured means always open', () => {
      expect(isOpen(undefined, 0)).to.equal(true);
      expect(nextOpening(undefined, 12345)).to.equal(12345);
    });

    it('null when it never opens', () => {
      expect(nextOpening({ timeZone: 'Europe/Paris', weekly: [] }, at('2024-01-15T10:00:00Z'))).to.equal(null);
      expect(isOpen({ timeZone: 'Europe/Paris', weekly: [] }, at('2024-01-15T10:00:00Z'))).to.equal(false);
    });
  });

  describe('closed dates', () => {
    const christmas = officeHours('Europe/Paris', ['2024-12-25', '2024-12-26']);

    it('are closed all day, local date, and nextOpening skips them', () => {
      expect(isOpen(christmas, at('2024-12-24T10:00:00Z'))).to.equal(true);
      expect(isOpen(christmas, at('2024-12-25T10:00:00Z'))).to.equal(false);
      expect(isOpen(christmas, at('2024-12-26T10:00:00Z'))).to.equal(false);
      expect(iso(nextOpening(christmas, at('2024-12-24T17:00:00Z')))).to.equal('2024-12-27T08:00:00.000Z');
    });

    it('a long run of closed dates is skipped (no fixed scan horizon)', () => {
      const dates: string[] = [];
      for (let d = Date.UTC(2024, 0, 1); d < Date.UTC(2024, 3, 1); d += 86_400_000) dates.push(new Date(d).toISOString().slice(0, 10));
      const closedQ1 = officeHours('Europe/Paris', dates);
      // Q1 closed: Monday 2024-04-01 09:00 CEST.
      expect(iso(nextOpening(closedQ1, at('2024-01-01T00:00:00Z')))).to.equal('2024-04-01T07:00:00.000Z');
    });

    it('an overnight range belongs to the day it opens', () => {
      const nights: OperatingHours = {
        timeZone: 'Europe/Paris',
        weekly: [{ day: 'fri', open: '22:00', close: '02:00' }],
        closedDates: ['2024-01-20'],
      };
      // Saturday 2024-01-20 is closed, but Friday night's range still runs until Saturday 02:00.
      expect(isOpen(nights, at('2024-01-20T00:30:00Z'))).to.equal(true);
      const fridayClosed: OperatingHours = { ...nights, closedDates: ['2024-01-19'] };
      expect(isOpen(fridayClosed, at('2024-01-19T21:30:00Z'))).to.equal(false);
      expect(isOpen(fridayClosed, at('2024-01-20T00:30:00Z'))).to.equal(false);
      expect(iso(nextOpening(fridayClosed, at('2024-01-19T21:30:00Z')))).to.equal('2024-01-26T21:00:00.000Z');
    });
  });

  describe('overnight ranges and 24:00', () => {
    const nights: OperatingHours = { timeZone: 'America/New_York', weekly: [{ day: 'fri', open: '22:00', close: '02:00' }] };

    it('22:00-02:00 runs into the next local day', () => {
      // Friday 2024-01-19 22:00 EST = 2024-01-20 03:00Z; closes Saturday 02:00 EST = 07:00Z.
      expect(isOpen(nights, at('2024-01-20T02:59:59Z'))).to.equal(false);
      expect(isOpen(nights, at('2024-01-20T03:00:00Z'))).to.equal(true);
      expect(isOpen(nights, at('2024-01-20T06:59:59Z'))).to.equal(true);
      expect(isOpen(nights, at('2024-01-20T07:00:00Z'))).to.equal(false);
      // Not open on Thursday night: the range belongs to Friday only.
      expect(isOpen(nights, at('2024-01-19T05:00:00Z'))).to.equal(false);
      expect(iso(nextOpening(nights, at('2024-01-20T07:00:00Z')))).to.equal('2024-01-27T03:00:00.000Z');
    });

    it("'24:00' closes at the end of the day; back-to-back days stay open across midnight", () => {
      const allWeekend: OperatingHours = {
        timeZone: 'Europe/Paris',
        weekly: [
          { day: 'sat', open: '00:00', close: '24:00' },
          { day: 'sun', open: '00:00', close: '24:00' },
        ],
      };
      expect(isOpen(allWeekend, at('2024-01-20T22:59:59Z'))).to.equal(true); // Sat 23:59:59
      expect(isOpen(allWeekend, at('2024-01-20T23:00:00Z'))).to.equal(true); // Sun 00:00
      expect(isOpen(allWeekend, at('2024-01-21T23:00:00Z'))).to.equal(false); // Mon 00:00
      expect(iso(nextOpening(allWeekend, at('2024-01-22T10:00:00Z')))).to.equal('2024-01-26T23:00:00.000Z');
    });
  });

  describe('DST: Europe/Paris', () => {
    it('spring forward (2024-03-31 02:00 -> 03:00): a 09:00 opening is 07:00Z, the day before 08:00Z', () => {
      const sunday: OperatingHours = {
        timeZone: 'Europe/Paris',
        weekly: [
          { day: 'sat', open: '09:00', close: '17:00' },
          { day: 'sun', open: '09:00', close: '17:00' },
        ],
      };
      expect(iso(nextOpening(sunday, at('2024-03-30T00:00:00Z')))).to.equal('2024-03-30T08:00:00.000Z');
      expect(iso(nextOpening(sunday, at('2024-03-30T20:00:00Z')))).to.equal('2024-03-31T07:00:00.000Z');
      expect(isOpen(sunday, at('2024-03-31T14:59:59Z'))).to.equal(true);
      expect(isOpen(sunday, at('2024-03-31T15:00:00Z'))).to.equal(false);
    });

    it('spring forward: an opening inside the gap moves forward by the gap, an overnight range is 7 h', () => {
      const gap: OperatingHours = { timeZone: 'Europe/Paris', weekly: [{ day: 'sun', open: '02:30', close: '04:00' }] };
      // 02:30 does not exist: opens 03:30 CEST = 01:30Z; closes 04:00 CEST = 02:00Z.
      expect(iso(nextOpening(gap, at('2024-03-30T12:00:00Z')))).to.equal('2024-03-31T01:30:00.000Z');
      expect(isOpen(gap, at('2024-03-31T01:29:59Z'))).to.equal(false);
      expect(isOpen(gap, at('2024-03-31T01:30:00Z'))).to.equal(true);
      expect(isOpen(gap, at('2024-03-31T02:00:00Z'))).to.equal(false);
      const night: OperatingHours = { timeZone: 'Europe/Paris', weekly: [{ day: 'sat', open: '22:00', close: '06:00' }] };
      expect(isOpen(night, at('2024-03-30T21:00:00Z'))).to.equal(true); // Sat 22:00 CET
      expect(isOpen(night, at('2024-03-31T03:59:59Z'))).to.equal(true); // Sun 05:59:59 CEST
      expect(isOpen(night, at('2024-03-31T04:00:00Z'))).to.equal(false); // Sun 06:00 CEST
    });

    it('spring forward: a range entirely inside the gap vanishes that day only', () => {
      const inGap: OperatingHours = { timeZone: 'Europe/Paris', weekly: [{ day: 'sun', open: '02:00', close: '03:00' }] };
      expect(isOpen(inGap, at('2024-03-31T01:00:00Z'))).to.equal(false);
      expect(iso(nextOpening(inGap, at('2024-03-30T12:00:00Z')))).to.equal('2024-04-07T00:00:00.000Z');
      expect(iso(nextOpening(inGap, at('2024-03-23T12:00:00Z')))).to.equal('2024-03-24T01:00:00.000Z');
    });

    it('fall back (2024-10-27 03:00 -> 02:00): an ambiguous opening is the first 02:30, an overnight range is 9 h', () => {
      const ambiguous: OperatingHours = { timeZone: 'Europe/Paris', weekly: [{ day: 'sun', open: '02:30', close: '05:00' }] };
      expect(iso(nextOpening(ambiguous, at('2024-10-26T12:00:00Z')))).to.equal('2024-10-27T00:30:00.000Z');
      expect(isOpen(ambiguous, at('2024-10-27T01:30:00Z'))).to.equal(true); // the second 02:30 (CET)
      expect(isOpen(ambiguous, at('2024-10-27T03:59:59Z'))).to.equal(true);
      expect(isOpen(ambiguous, at('2024-10-27T04:00:00Z'))).to.equal(false); // 05:00 CET
      const night: OperatingHours = { timeZone: 'Europe/Paris', weekly: [{ day: 'sat', open: '22:00', close: '06:00' }] };
      expect(isOpen(night, at('2024-10-26T19:59:59Z'))).to.equal(false);
      expect(isOpen(night, at('2024-10-26T20:00:00Z'))).to.equal(true); // Sat 22:00 CEST
      expect(isOpen(night, at('2024-10-27T04:59:59Z'))).to.equal(true);
      expect(isOpen(night, at('2024-10-27T05:00:00Z'))).to.equal(false); // Sun 06:00 CET
    });
  });

  describe('DST: America/New_York', () => {
    const nyc = officeHours('America/New_York');
    const weekend: OperatingHours = {
      timeZone: 'America/New_York',
      weekly: [
        { day: 'sat', open: '09:00', close: '17:00' },
        { day: 'sun', open: '09:00', close: '17:00' },
      ],
    };

    it('spring forward (2024-03-10 02:00 -> 03:00): 09:00 is 14:00Z on Saturday and 13:00Z on Sunday', () => {
      expect(iso(nextOpening(weekend, at('2024-03-09T12:00:00Z')))).to.equal('2024-03-09T14:00:00.000Z');
      expect(iso(nextOpening(weekend, at('2024-03-09T23:00:00Z')))).to.equal('2024-03-10T13:00:00.000Z');
      expect(iso(nextOpening(nyc, at('2024-03-09T23:00:00Z')))).to.equal('2024-03-11T13:00:00.000Z');
      const gap: OperatingHours = { timeZone: 'America/New_York', weekly: [{ day: 'sun', open: '02:15', close: '05:00' }] };
      expect(iso(nextOpening(gap, at('2024-03-10T00:00:00Z')))).to.equal('2024-03-10T07:15:00.000Z'); // 03:15 EDT
    });

    it('fall back (2024-11-03 02:00 -> 01:00): 09:00 is 13:00Z on Saturday and 14:00Z on Sunday; 01:30 is the first one', () => {
      expect(iso(nextOpening(weekend, at('2024-11-02T12:00:00Z')))).to.equal('2024-11-02T13:00:00.000Z');
      expect(iso(nextOpening(weekend, at('2024-11-02T23:00:00Z')))).to.equal('2024-11-03T14:00:00.000Z');
      const early: OperatingHours = { timeZone: 'America/New_York', weekly: [{ day: 'sun', open: '01:30', close: '03:00' }] };
      expect(iso(nextOpening(early, at('2024-11-03T00:00:00Z')))).to.equal('2024-11-03T05:30:00.000Z'); // 01:30 EDT
      expect(isOpen(early, at('2024-11-03T06:15:00Z'))).to.equal(true); // 01:15 EST, the repeated hour
      expect(isOpen(early, at('2024-11-03T07:59:59Z'))).to.equal(true);
      expect(isOpen(early, at('2024-11-03T08:00:00Z'))).to.equal(false); // 03:00 EST
      expect(localDateOf('America/New_York', at('2024-11-03T04:30:00Z'))).to.equal('2024-11-03');
      expect(localDateOf('America/New_York', at('2024-11-03T03:59:00Z'))).to.equal('2024-11-02');
    });
  });

  describe('validateOperatingHours', () => {
    it('accepts office hours, overnight ranges, 24:00 and real calendar dates (leap day)', () => {
      expect(validateOperatingHours(officeHours('Europe/Paris', ['2024-02-29', '2024-12-25']))).to.deep.equal([]);
      expect(
        validateOperatingHours({
          timeZone: 'America/New_York',
          weekly: [
            { day: 'fri', open: '22:00', close: '02:00' },
            { day: 'sat', open: '00:00', close: '24:00' },
          ],
        }),
      ).to.deep.equal([]);
    });

    it('reports each problem with where it is', () => {
      const errors = validateOperatingHours({
        timeZone: 'Mars/Olympus_Mons',
        weekly: [
          { day: 'monday' as Weekday, open: '09:00', close: '17:00' },
          { day: 'tue', open: '9:00', close: '17:00' },
          { day: 'wed', open: '24:00', close: '17:00' },
          { day: 'thu', open: '09:00', close: '24:01' },
          { day: 'fri', open: '09:60', close: '17:00' },
          { day: 'sat', open: '10:00', close: '10:00' },
          { day: 'sun', open: '٠٩:00', close: '17:00' },
        ],
        closedDates: ['2023-02-29', '2024-1-01', '2024-13-01'],
      });
      expect(errors).to.have.length(11);
      expect(errors[0]).to.match(/unknown time zone "Mars\/Olympus_Mons"/);
      expect(errors.filter((e) => e.startsWith('weekly[0]: day'))).to.have.length(1);
      expect(errors.filter((e) => e.startsWith('weekly[1]: open'))).to.have.length(1);
      expect(errors.filter((e) => e.startsWith('weekly[2]: open'))).to.have.length(1);
      expect(errors.filter((e) => e.startsWith('weekly[3]: close'))).to.have.length(1);
      expect(errors.filter((e) => e.startsWith('weekly[4]: open'))).to.have.length(1);
      expect(errors.filter((e) => e.startsWith('weekly[5]: open equals close'))).to.have.length(1);
      expect(errors.filter((e) => e.startsWith('weekly[6]: open'))).to.have.length(1);
      expect(errors.filter((e) => e.startsWith('closedDates'))).to.have.length(3);
      expect(validateOperatingHours({ timeZone: '', weekly: [] })).to.deep.equal(['timeZone is required (IANA name, e.g. Europe/Paris)']);
    });

    it('isOpen and nextOpening refuse invalid hours with a RangeError', () => {
      const bad: OperatingHours = { timeZone: 'Europe/Paris', weekly: [{ day: 'mon', open: '25:00', close: '26:00' }] };
      expect(() => isOpen(bad, 0)).to.throw(RangeError, /invalid operating hours: weekly\[0\]/);
      expect(() => nextOpening(bad, 0)).to.throw(RangeError, /invalid operating hours/);
    });
  });
});
