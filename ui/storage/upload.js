// A volume upload from the browser (docs/api.md "volume.upload"): the file is the body of one
// POST, streamed by the browser (never read into the page), authenticated by the session
// cookie; onProgress(loaded, total) follows the bytes sent. Resolves to the API's result.

import { ApiError } from '../lib/api.js';

export function uploadVolume(pool, volume, file, onProgress) {
    return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open('POST', `/api/v1/volume.upload?${new URLSearchParams({ pool, volume })}`);
        xhr.setRequestHeader('Content-Type', 'application/octet-stream');
        xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
        xhr.onerror = () => reject(new ApiError('unavailable', 'the upload was cut'));
        xhr.onload = () => {
            let body = null;
            try {
                body = JSON.parse(xhr.responseText);
            } catch {
                // not the gateway's JSON: the status says it
            }
            if (body?.error) reject(new ApiError(body.error.code, body.error.message, xhr.status));
            else if (xhr.status !== 200 || !body?.result)
                reject(new ApiError('internal', `HTTP ${xhr.status}`, xhr.status));
            else resolve(body.result);
        };
        xhr.send(file);
    });
}
