import type { RetentionClass, RetentionPreview } from '../api/types';
import { formatBytes } from '../format/bytes';
import { formatInt } from '../format/number';
import { t } from '../i18n';
import { className, MEASURED } from './classes';

/** What the next retention run would delete with the periods being edited. */
export function PreviewSummary({ preview, classes }: { preview: RetentionPreview; classes: RetentionClass[] }) {
  return (
    <>
      <p class="strong">{t('retention.previewTitle')}</p>
      {preview.classes.every((c) => c.records === 0 && c.partitions_dropped === 0) ? (
        <p>{t('retention.previewNothing')}</p>
      ) : (
        <ul>
          {preview.classes
            .filter((c) => c.records > 0 || c.partitions_dropped > 0)
            .map((c) => (
              <li key={c.class}>
                {t('retention.previewLine', {
                  name: className(c.class),
                  records: formatInt(c.records),
                  bytes: formatBytes(c.bytes),
                })}
              </li>
            ))}
        </ul>
      )}
      <p class="small">
        {t('retention.previewNote', {
          classes: classes
            .filter((c) => !MEASURED.has(c.class))
            .map((c) => className(c.class))
            .join(', '),
        })}
      </p>
    </>
  );
}
