import { RangePicker } from './RangePicker';
import { TimeZoneSelect } from './TimeZoneSelect';

/** The date range and time zone controls every statistics screen shares. */
export function RangeTools() {
  return (
    <div class="range-tools">
      <RangePicker />
      <TimeZoneSelect />
    </div>
  );
}
